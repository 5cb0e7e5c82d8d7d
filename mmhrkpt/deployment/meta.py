"""What a runtime needs besides the graph, read from a model's config: the test pipeline's
preprocessing and the keypoint meta. Written into the ONNX model's ``metadata_props`` (each value a
JSON string under its key), so that :class:`~mmhrkpt.deployment.onnx_detector.ONNXKeypointDetector`
needs nothing else.

Keys: ``mean``, ``std``, ``to_rgb``, ``test_scale`` (mmdet's ``img_scale``, (long edge, short edge)
with ``keep_ratio``, else (w, h)), ``keep_ratio``, ``interpolation``, ``size_divisor`` (or ``pad_size``,
(h, w)), ``pad_val``; ``num_keypoints``, ``keypoint_names``, ``flip_pairs``, ``skeleton``; ``classes``,
``codec``, ``flip_test``, ``score_thr``, ``max_per_img``, ``outputs``.
"""
import json

from mmhrkpt.datasets.keypoint_meta import (COCO_KEYPOINT_NAMES, COCO_SKELETON, load_dataset_info,
                                            resolve_keypoint_meta)

# What the graph's outputs mean, for whoever opens the file.
OUTPUTS_DOC = ('dets float32 [N, 5] (x1, y1, x2, y2, instance score), labels int64 [N], keypoints float32 '
               '[N, K, 3] (x, y, score); in the pixels of the input, row i = detection i, best box '
               'score first. Optional input img_shape int64 [2]: (h, w) of the image inside the padded '
               'input, boxes are clipped to it; default (0, 0) = the whole input.')


def _test_steps(pipeline):
    """The test pipeline flattened (MultiScaleFlipAug's transforms inline), with its img_scale."""
    steps, scale = [], None
    for step in pipeline:
        if step['type'] == 'MultiScaleFlipAug':
            if step.get('flip', False):
                raise ValueError('MultiScaleFlipAug(flip=True) (test-time augmentation) is not exported; '
                                 'flip test of the keypoints is test_cfg.rcnn.keypoint.flip_test')
            scale = step.get('img_scale', None)
            if scale is None or (isinstance(scale, list) and len(scale) != 1):
                raise ValueError(f'export needs one test scale, got img_scale={scale!r} (or scale_factor)')
            scale = scale[0] if isinstance(scale, list) else scale
            steps += list(step['transforms'])
        else:
            steps.append(step)
    return steps, scale


def preprocessing_meta(cfg):
    """Resize / Normalize / Pad of ``cfg.data.test.pipeline``.

    Returns:
        dict: the preprocessing keys of the module docstring.
    """
    steps, scale = _test_steps(cfg.data.test.pipeline)
    by_type = {step['type']: step for step in steps}
    missing = [name for name in ('Resize', 'Normalize', 'Pad') if name not in by_type]
    if missing:
        raise ValueError(f'export needs Resize, Normalize and Pad in data.test.pipeline; missing {missing}')
    resize, norm, pad = by_type['Resize'], by_type['Normalize'], by_type['Pad']
    scale = resize.get('img_scale', None) or scale
    if scale is None or not isinstance(scale[0], (int, float)):
        raise ValueError(f'export needs one test scale (w, h), got {scale!r}')
    if resize.get('backend', 'cv2') != 'cv2':
        raise ValueError(f"export supports Resize(backend='cv2') only, got {resize['backend']!r}")
    pad_val = pad.get('pad_val', dict(img=0))
    meta = dict(
        mean=[float(v) for v in norm['mean']],
        std=[float(v) for v in norm['std']],
        to_rgb=bool(norm.get('to_rgb', True)),
        test_scale=[int(s) for s in scale],
        keep_ratio=bool(resize.get('keep_ratio', True)),
        interpolation=resize.get('interpolation', 'bilinear'),
        pad_val=float(pad_val.get('img', 0) if isinstance(pad_val, dict) else pad_val))
    if pad.get('size_divisor', None):
        meta['size_divisor'] = int(pad['size_divisor'])
    elif pad.get('size', None):
        meta['pad_size'] = [int(s) for s in pad['size']]
    else:
        raise ValueError('export supports Pad(size_divisor=...) or Pad(size=...), got '
                         f'{dict(pad)}')
    return meta


def keypoint_meta(cfg, num_keypoints):
    """Names, flip pairs and skeleton of the test dataset (``data.test.dataset_info``, in any form
    ``load_dataset_info`` reads), COCO's when it names none and K = 17 (a single image has no
    annotation file to read them from)."""
    info = load_dataset_info(cfg.data.test.get('dataset_info', None))  # any of its forms
    if 'keypoint_names' not in info:
        if num_keypoints != len(COCO_KEYPOINT_NAMES):
            raise ValueError(f'the model has {num_keypoints} keypoints: give data.test.dataset_info '
                             '(keypoint_names, flip_pairs, skeleton) in its config')
        info['keypoint_names'] = COCO_KEYPOINT_NAMES
        info.setdefault('skeleton', COCO_SKELETON)
    info.setdefault('sigmas', [1.0] * len(info['keypoint_names']))  # evaluation only, not exported
    meta = resolve_keypoint_meta(info)
    if len(meta['keypoint_names']) != num_keypoints:
        raise ValueError(f"data.test.dataset_info names {len(meta['keypoint_names'])} keypoints, the "
                         f'model has {num_keypoints}')
    return dict(
        num_keypoints=num_keypoints,
        keypoint_names=list(meta['keypoint_names']),
        flip_pairs=[list(p) for p in meta['flip_pairs']],
        skeleton=[list(p) for p in meta['skeleton']])


def class_names(cfg, detector):
    """The detector's class names: its ``CLASSES`` (from the checkpoint) when they are as many as its
    classes (mmdet puts COCO's 80 there for a checkpoint without them), else the test dataset's."""
    from mmdet.datasets import DATASETS
    num_classes = detector.roi_head.bbox_head.num_classes
    dataset = DATASETS.get(cfg.data.test.get('type', ''))
    for names in (getattr(detector, 'CLASSES',
                          None), cfg.data.test.get('classes', None), getattr(dataset, 'CLASSES', None)):
        if names is not None and len(names) == num_classes:
            return [str(n) for n in names]
    return [f'class_{i}' for i in range(num_classes)]


def model_meta(cfg, detector):
    """Every metadata entry of an exported ``detector`` built from ``cfg``: dict of JSON-able values.

    The keypoint meta is the detector's ``keypoint_meta`` when ``mmhrkpt.apis.init_model`` gave it
    one (from the checkpoint), else :func:`keypoint_meta` of the config."""
    roi_head = detector.roi_head
    rcnn = roi_head.test_cfg
    meta = preprocessing_meta(cfg)
    # init_model's (the checkpoint's meta first): what the PyTorch model flips and draws with
    loaded = getattr(detector, 'keypoint_meta', None)
    if loaded is None:
        meta.update(keypoint_meta(cfg, roi_head.num_keypoints))
    else:
        meta.update(
            num_keypoints=roi_head.num_keypoints,
            keypoint_names=list(loaded['keypoint_names']),
            flip_pairs=[[int(i), int(j)] for i, j in loaded['flip_pairs']],
            skeleton=[[int(i), int(j)] for i, j in loaded['skeleton']])
    meta.update(
        classes=class_names(cfg, detector),
        codec=repr(roi_head.keypoint_head.codec),
        flip_test=bool(detector.flip_test),
        score_thr=float(rcnn.score_thr),
        max_per_img=int(rcnn.max_per_img),
        outputs=OUTPUTS_DOC)
    return meta


def to_metadata_props(meta):
    """dict -> {key: JSON string}, what ONNX's ``metadata_props`` holds."""
    return {key: json.dumps(value) for key, value in meta.items()}
