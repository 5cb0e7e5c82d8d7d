"""torchvision's ``keypointrcnn_resnet50_fpn`` state dict -> a checkpoint for
``configs/krcnn_r50/krcnn_r50_fpn_onehot_torchvision_coco.py``:

    python tools/model_converters/torchvision2mmhrkpt.py SRC.pth DST.pth [--config CONFIG]

SRC is a state dict as torchvision saves it (either published weight set, COCO_V1 or COCO_LEGACY, or
``torch.save(model.state_dict(), ...)`` of the model), or a training checkpoint of torchvision's
references holding one under ``model``. Every tensor of SRC maps to exactly one tensor of the model that
CONFIG builds; a key that no rule knows, a model tensor that nothing fills, or a shape that differs
stops the conversion with a message naming them. Two rules are not plain renames: the class rows of the
box classifier are reordered (torchvision puts the background first, mmdet last) and the background's
four box deltas, which torchvision neither trains nor uses, are left out. BatchNorm step counters
(``num_batches_tracked``, present when the model was built without pre-trained weights) are dropped:
the frozen batch norm has none, torchvision's own drops them too.

The checkpoint's ``meta`` carries CLASSES and the keypoint meta (names, flip pairs, skeleton, OKS
sigmas) so that ``demo/image_demo.py`` and ``mmhrkpt.apis.init_model`` need no dataset.
"""
import argparse
import os
import os.path as osp
import re
import sys

import torch
from mmcv import Config
from mmdet.models import build_detector

import mmhrkpt
from mmhrkpt.datasets.keypoint_meta import (coco_keypoint_meta, keypoint_meta_to_checkpoint,
                                            resolve_keypoint_meta)
from mmhrkpt.utils import run_reporting_errors

DEFAULT_CONFIG = osp.join(
    osp.dirname(osp.abspath(__file__)), '..', '..', 'configs', 'krcnn_r50',
    'krcnn_r50_fpn_onehot_torchvision_coco.py')
CLASSES = ('person', )
# BatchNorm2d's step counter: a frozen batch norm has none.
DROPPED = re.compile(r'^backbone\.body\..*\.num_batches_tracked$')


def _background_last(tensor):
    """Classifier rows [background, classes...] -> [classes..., background] (mmdet's order)."""
    return torch.cat([tensor[1:], tensor[:1]])


def _without_background_deltas(tensor):
    """Box-delta rows of [background, classes...] (4 each) -> those of the classes."""
    return tensor[4:]


def _keypoint_conv(match):
    """keypoint_head.{2i} (torchvision's Sequential of conv, ReLU pairs) -> convs.{i}."""
    index = int(match.group(1))
    if index % 2:
        return None  # odd entries of torchvision's Sequential are ReLUs, which have no tensors
    return f'roi_head.keypoint_head.convs.{index // 2}.conv.{match.group(2)}'


# (source pattern, target name or function of the match, tensor transform or None)
RULES = [
    (r'^backbone\.body\.(.+)$', r'backbone.\1', None),  # mmdet's ResNet has torchvision's names
    # FPN blocks: Conv2dNormActivation(...).0 since torchvision 0.13, a bare conv before
    (r'^backbone\.fpn\.inner_blocks\.(\d+)(?:\.0)?\.(weight|bias)$', r'neck.lateral_convs.\1.conv.\2', None),
    (r'^backbone\.fpn\.layer_blocks\.(\d+)(?:\.0)?\.(weight|bias)$', r'neck.fpn_convs.\1.conv.\2', None),
    # RPN conv: conv.0.0 since torchvision 0.13 (RPNHead version 2), a bare conv before
    (r'^rpn\.head\.conv(?:\.0\.0)?\.(weight|bias)$', r'rpn_head.rpn_conv.\1', None),
    (r'^rpn\.head\.cls_logits\.(weight|bias)$', r'rpn_head.rpn_cls.\1', None),
    (r'^rpn\.head\.bbox_pred\.(weight|bias)$', r'rpn_head.rpn_reg.\1', None),
    (r'^roi_heads\.box_head\.fc6\.(weight|bias)$', r'roi_head.bbox_head.shared_fcs.0.\1', None),
    (r'^roi_heads\.box_head\.fc7\.(weight|bias)$', r'roi_head.bbox_head.shared_fcs.1.\1', None),
    (r'^roi_heads\.box_predictor\.cls_score\.(weight|bias)$', r'roi_head.bbox_head.fc_cls.\1',
     _background_last),
    (r'^roi_heads\.box_predictor\.bbox_pred\.(weight|bias)$', r'roi_head.bbox_head.fc_reg.\1',
     _without_background_deltas),
    (r'^roi_heads\.keypoint_head\.(\d+)\.(weight|bias)$', _keypoint_conv, None),
    (r'^roi_heads\.keypoint_predictor\.kps_score_lowres\.(weight|bias)$',
     r'roi_head.keypoint_head.conv_logits.\1', None),
]
RULES = [(re.compile(pattern), target, transform) for pattern, target, transform in RULES]


def _listing(keys, limit=12):
    keys = sorted(keys)
    shown = ', '.join(keys[:limit])
    return shown + (f' ... ({len(keys)} in all)' if len(keys) > limit else '')


def load_torchvision_state_dict(path):
    """The state dict in ``path``: a bare one, or the ``model`` / ``state_dict`` entry of a checkpoint."""
    obj = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('model', 'state_dict'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise ValueError(f'{path} holds no state dict of tensors (a dict, or one under "model" or '
                         '"state_dict")')
    return obj


def _target(key):
    """(mmhrkpt key, tensor transform or None) of a torchvision key; (None, None) if no rule knows it."""
    for pattern, target, transform in RULES:
        match = pattern.match(key)
        if match is not None:
            name = target(match) if callable(target) else match.expand(target)
            return (name, transform) if name is not None else (None, None)
    return None, None


def convert_state_dict(state_dict):
    """torchvision key -> mmhrkpt key for every tensor (dropping only BatchNorm step counters).

    Args:
        state_dict (dict[str, Tensor]): torchvision's ``keypointrcnn_resnet50_fpn`` state dict.

    Returns:
        tuple[dict[str, Tensor], list[str]]: the converted state dict and the dropped source keys.

    Raises:
        ValueError: naming the source keys that no rule converts, or two sources of one target.
    """
    converted, sources, dropped, unknown = {}, {}, [], []
    for key, tensor in state_dict.items():
        if DROPPED.match(key):
            dropped.append(key)
            continue
        name, transform = _target(key)
        if name is None:
            unknown.append(key)
        elif name in converted:
            raise ValueError(f'{key} and {sources[name]} both map to {name}')
        else:
            converted[name] = (transform(tensor) if transform else tensor).clone()
            sources[name] = key
    if unknown:
        raise ValueError('not a keypointrcnn_resnet50_fpn state dict: no rule for '
                         f'{_listing(unknown)}')
    return converted, dropped


def check_against_model(converted, model_state):
    """Refuse unless ``converted`` has exactly the model's keys, with the model's shapes.

    Args:
        converted (dict[str, Tensor]): from :func:`convert_state_dict`.
        model_state (dict[str, Tensor]): ``model.state_dict()`` of the target config's model.
    """
    missing = set(model_state) - set(converted)
    unexpected = set(converted) - set(model_state)
    shapes = [
        f'{k} {tuple(converted[k].shape)} (model: {tuple(model_state[k].shape)})'
        for k in sorted(set(converted) & set(model_state)) if converted[k].shape != model_state[k].shape
    ]
    problems = []
    if missing:
        problems.append(f'model tensors with no source: {_listing(missing)}')
    if unexpected:
        problems.append(f'converted tensors the model lacks: {_listing(unexpected)}')
    if shapes:
        problems.append(f'shapes differ: {_listing(shapes)}')
    if problems:
        raise ValueError('the source does not fit the config\'s model: ' + '; '.join(problems))


def checkpoint_meta(cfg, num_keypoints):
    """CLASSES and keypoint meta: the config's ``data.test.dataset_info``, else COCO's for K = 17."""
    info = cfg.get('data', {}).get('test', {}).get('dataset_info', None)
    if info:
        keypoint_meta = resolve_keypoint_meta(dict(info))
    elif num_keypoints == 17:
        keypoint_meta = coco_keypoint_meta()
    else:
        raise ValueError(f'the source has {num_keypoints} keypoints: give their meta in the config '
                         '(data.test.dataset_info=dict(keypoint_names=..., skeleton=..., sigmas=...))')
    if len(keypoint_meta['keypoint_names']) != num_keypoints:
        raise ValueError(f'the config names {len(keypoint_meta["keypoint_names"])} keypoints, the '
                         f'source has {num_keypoints}')
    return keypoint_meta_to_checkpoint(keypoint_meta, CLASSES)


def build_target_model(config):
    """The model of ``config`` (no pre-trained initialisation: the converted tensors replace it)."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    cfg.model.train_cfg = None
    return cfg, build_detector(cfg.model, test_cfg=cfg.get('test_cfg'))


def convert(src, dst, config=DEFAULT_CONFIG):
    """Convert ``src`` into ``dst`` for ``config``; returns the checkpoint written."""
    state_dict = load_torchvision_state_dict(src)
    converted, dropped = convert_state_dict(state_dict)
    cfg, model = build_target_model(config)
    check_against_model(converted, model.state_dict())
    num_keypoints = converted['roi_head.keypoint_head.conv_logits.weight'].shape[1]
    meta = checkpoint_meta(cfg, num_keypoints)
    meta.update(
        mmhrkpt_version=mmhrkpt.__version__,
        config=osp.basename(config),
        converted_from=f'torchvision keypointrcnn_resnet50_fpn ({osp.basename(src)})')
    checkpoint = dict(state_dict=converted, meta=meta)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(checkpoint, dst)
    print(f'{len(state_dict)} source tensors: {len(converted)} converted to the {len(converted)} '
          f'tensors of {osp.basename(config)}, {len(dropped)} BatchNorm step counters dropped; '
          f'saved {dst}')
    return checkpoint


def main():
    parser = argparse.ArgumentParser(description="Convert torchvision's keypointrcnn_resnet50_fpn")
    parser.add_argument('src', help='torchvision state dict (.pth)')
    parser.add_argument('dst', help='mmhrkpt checkpoint to write (.pth)')
    parser.add_argument(
        '--config', default=DEFAULT_CONFIG, help='the config the checkpoint is for (default: %(default)s)')
    args = parser.parse_args()
    convert(args.src, args.dst, args.config)


if __name__ == '__main__':
    sys.exit(run_reporting_errors(main))
