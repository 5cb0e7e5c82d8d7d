"""Single-image inference: ``init_model`` then ``inference_model``."""
import copy

import mmcv
import numpy as np
import torch
from mmcv.parallel import DataContainer, collate, scatter
from mmcv.runner import load_checkpoint
from mmdet.datasets.pipelines import Compose
from mmdet.models import build_detector

# A keypoint detector's one class when its checkpoint names none.
DEFAULT_CLASSES = ('person', )


def init_model(config, checkpoint=None, device='cpu', cfg_options=None):
    """Build a Keypoint R-CNN from a config (path or ``mmcv.Config``), load weights, eval mode.

    Backbone pre-training (``init_cfg``) is skipped: the weights come from ``checkpoint``. The model
    gets ``CLASSES`` and ``keypoint_meta`` (keypoint names, flip pairs, skeleton, OKS sigmas: what
    :func:`inference_model` and the drawing use) from the checkpoint's meta, which every checkpoint
    the project writes carries; for an older checkpoint, from the config's ``data.test.dataset_info``,
    or COCO's for a 17-keypoint model.
    """
    import mmhrkpt  # noqa: F401  (registers the modules the config names)
    cfg = mmcv.Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    cfg.model.pretrained = None
    if cfg.model.get('backbone', None) is not None:
        cfg.model.backbone.init_cfg = None
    cfg.model.train_cfg = None
    model = build_detector(cfg.model, test_cfg=cfg.get('test_cfg'))
    meta = {}
    if checkpoint is not None:
        meta = load_checkpoint(model, checkpoint, map_location='cpu').get('meta', None) or {}
    model.CLASSES = tuple(meta.get('CLASSES', DEFAULT_CLASSES))
    model.keypoint_meta = _keypoint_meta(meta, cfg, model.roi_head.num_keypoints, checkpoint)
    model.cfg = cfg
    return model.to(device).eval()


def _keypoint_meta(meta, cfg, num_keypoints, checkpoint):
    """The checkpoint's keypoint meta; else the test dataset config's; else COCO's when K = 17.

    (A dataset reads its meta from its json; a single image has no json.)
    """
    from mmhrkpt.datasets.keypoint_meta import (COCO_KEYPOINT_NAMES, COCO_SKELETON,
                                                keypoint_meta_from_checkpoint, load_dataset_info,
                                                resolve_keypoint_meta)
    keypoint_meta = keypoint_meta_from_checkpoint(meta)
    source = f'the meta of {checkpoint}'
    if keypoint_meta is None:
        info = load_dataset_info(cfg.data.test.get('dataset_info', None))
        source = "the config's data.test.dataset_info"
        if 'keypoint_names' not in info:
            if num_keypoints != len(COCO_KEYPOINT_NAMES):
                raise ValueError(f'the model has {num_keypoints} keypoints and its checkpoint no keypoint '
                                 'meta: give data.test.dataset_info (keypoint_names, flip_pairs, '
                                 'skeleton) in its config')
            info['keypoint_names'] = COCO_KEYPOINT_NAMES
            source = "COCO's 17 keypoints"
        keypoint_meta = resolve_keypoint_meta(info)
        if not keypoint_meta['skeleton'] and keypoint_meta['keypoint_names'] == COCO_KEYPOINT_NAMES:
            keypoint_meta['skeleton'] = list(COCO_SKELETON)  # COCO's names draw COCO's limbs
    if len(keypoint_meta['keypoint_names']) != num_keypoints:
        raise ValueError(f'{source} names {len(keypoint_meta["keypoint_names"])} keypoints, the model '
                         f'has {num_keypoints}')
    return keypoint_meta


def inference_model(model, img):
    """Detect the persons and their keypoints in one image.

    Args:
        model (nn.Module): from ``init_model``.
        img (str | np.ndarray[h, w, 3]): image path or BGR array.

    Returns:
        dict: ``bboxes`` np.ndarray[n, 4] (x1, y1, x2, y2), ``scores`` np.ndarray[n] (instance score),
        ``labels`` np.ndarray[n], ``keypoints`` np.ndarray[n, K, 3] (x, y, keypoint score), in the
        image's continuous pixel frame (CONVENTIONS.md), sorted by score.
    """
    cfg = model.cfg.copy()
    pipeline = cfg.data.test.pipeline.copy()
    if isinstance(img, np.ndarray):
        pipeline[0] = dict(pipeline[0], type='LoadImageFromWebcam')
        data = dict(img=img)
    else:
        data = dict(img_info=dict(filename=img), img_prefix=None)
    keypoint_meta = getattr(model, 'keypoint_meta', None)
    if keypoint_meta is None:
        keypoint_meta = _keypoint_meta({}, cfg, model.roi_head.num_keypoints, None)
    data['keypoint_flip_pairs'] = [tuple(pair) for pair in keypoint_meta['flip_pairs']]
    data = collate([Compose(pipeline)(data)], samples_per_gpu=1)
    # unwrap mmcv's DataContainers (what MMDataParallel does before calling the model)
    data = {k: [v.data[0] if isinstance(v, DataContainer) else v for v in vs] for k, vs in data.items()}
    device = next(model.parameters()).device
    if device.type == 'cuda':
        data = scatter(data, [device])[0]
    with torch.no_grad():
        bbox_results, keypoint_results = model(return_loss=False, rescale=True, **data)[0]
    bboxes = np.concatenate([b.reshape(-1, 5) for b in bbox_results])
    num_kpts = model.roi_head.num_keypoints
    keypoints = np.concatenate([k.reshape(-1, num_kpts, 3) for k in keypoint_results])
    labels = np.concatenate([np.full(len(b), c) for c, b in enumerate(bbox_results)])
    order = np.argsort(-bboxes[:, 4], kind='stable')
    return dict(
        bboxes=bboxes[order, :4], scores=bboxes[order, 4], labels=labels[order], keypoints=keypoints[order])


def show_inference(img, result, out_file=None, skeleton=None, keypoint_names=None, score_thr=0.3, model=None):
    """Draw an ``inference_model`` result on ``img``; returns the drawn image.

    ``skeleton`` and ``keypoint_names`` default to those of ``model.keypoint_meta`` when a model is
    given (COCO's skeleton for K = 17 otherwise).
    """
    from mmhrkpt.core.visualization import imshow_keypoints
    keypoint_meta = getattr(model, 'keypoint_meta', None) or {}
    skeleton = keypoint_meta.get('skeleton') if skeleton is None else skeleton
    keypoint_names = keypoint_meta.get('keypoint_names') if keypoint_names is None else keypoint_names
    bboxes = np.concatenate([result['bboxes'], result['scores'][:, None]], 1)
    drawn = imshow_keypoints(
        img,
        bboxes,
        result['keypoints'],
        skeleton=skeleton,
        keypoint_names=keypoint_names,
        score_thr=score_thr)
    if out_file is not None:
        mmcv.imwrite(drawn, out_file)
    return drawn
