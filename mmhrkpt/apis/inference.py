"""Single-image inference: ``init_model`` then ``inference_model``."""
import mmcv
import numpy as np
import torch
from mmcv.parallel import DataContainer, collate, scatter
from mmdet.apis import init_detector
from mmdet.datasets.pipelines import Compose


def init_model(config, checkpoint=None, device='cpu', cfg_options=None):
    """Build a Keypoint R-CNN from a config (path or ``mmcv.Config``), load weights, eval mode.

    Backbone pre-training (``init_cfg``) is skipped: the weights come from ``checkpoint``.
    """
    import mmhrkpt  # noqa: F401  (registers the modules the config names)
    return init_detector(config, checkpoint=checkpoint, device=device, cfg_options=cfg_options)


def _flip_pairs(cfg, num_keypoints):
    """The flip pairs of the test dataset's config, or COCO's when it names no keypoints and K = 17.

    (A dataset reads its meta from its json; a single image has no json.)
    """
    from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES, load_dataset_info, resolve_keypoint_meta
    info = load_dataset_info(cfg.data.test.get('dataset_info', None))
    if 'keypoint_names' not in info and 'flip_pairs' not in info:
        if num_keypoints != len(COCO_KEYPOINT_NAMES):
            raise ValueError(f'the model has {num_keypoints} keypoints: give '
                             'data.test.dataset_info (keypoint_names, flip_pairs) in its config')
        info['keypoint_names'] = COCO_KEYPOINT_NAMES
    return resolve_keypoint_meta(info)['flip_pairs']


def inference_model(model, img):
    """Detect the persons and their keypoints in one image.

    Args:
        model (nn.Module): from ``init_model``.
        img (str | np.ndarray[h, w, 3]): image path or BGR array.

    Returns:
        dict: ``bboxes`` np.ndarray[n, 4] (x1, y1, x2, y2), ``scores`` np.ndarray[n] (instance score),
        ``labels`` np.ndarray[n], ``keypoints`` np.ndarray[n, K, 3] (x, y, keypoint score), in the
        image's pixels, sorted by score.
    """
    cfg = model.cfg.copy()
    pipeline = cfg.data.test.pipeline.copy()
    if isinstance(img, np.ndarray):
        pipeline[0] = dict(pipeline[0], type='LoadImageFromWebcam')
        data = dict(img=img)
    else:
        data = dict(img_info=dict(filename=img), img_prefix=None)
    data['keypoint_flip_pairs'] = _flip_pairs(cfg, model.roi_head.num_keypoints)
    data = collate([Compose(pipeline)(data)], samples_per_gpu=1)
    # unwrap mmcv's DataContainers (what MMDataParallel does before calling the model)
    data = {k: [v.data[0] if isinstance(v, DataContainer) else v for v in vs]
            for k, vs in data.items()}
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
    return dict(bboxes=bboxes[order, :4], scores=bboxes[order, 4], labels=labels[order],
                keypoints=keypoints[order])


def show_inference(img, result, out_file=None, skeleton=None, keypoint_names=None, score_thr=0.3):
    """Draw an ``inference_model`` result on ``img``; returns the drawn image."""
    from mmhrkpt.core.visualization import imshow_keypoints
    bboxes = np.concatenate([result['bboxes'], result['scores'][:, None]], 1)
    drawn = imshow_keypoints(img, bboxes, result['keypoints'], skeleton=skeleton,
                             keypoint_names=keypoint_names, score_thr=score_thr)
    if out_file is not None:
        mmcv.imwrite(drawn, out_file)
    return drawn
