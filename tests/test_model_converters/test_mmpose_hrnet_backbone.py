"""configs/krcnn_hrnet/krcnn_hrnet_w32_hrfpn_dark_posepretrained_coco.py loads an mmpose 0.x top-down
HRNet-W32 checkpoint into its backbone: mmpose's own TopDown model, built from the config file that
ships inside the mmpose package, with seeded random tensors saved as a checkpoint; every tensor it has
must arrive unchanged, and exactly the fuse layers it lacks must be reported as fresh."""
import logging
import os
import re
from pathlib import Path

import mmcv
import pytest
import torch
from mmdet.models import build_detector

from mmhrkpt.utils import import_mmpose

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'krcnn_hrnet' / 'krcnn_hrnet_w32_hrfpn_dark_posepretrained_coco.py'
MMPOSE_CONFIG = ('.mim/configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/'
                 'hrnet_w32_coco_256x192.py')


@pytest.fixture(scope='module')
def pose_checkpoint(tmp_path_factory):
    """mmpose's TopDown HRNet-W32 256x192 with every float tensor seeded random, as a checkpoint."""
    mmpose = import_mmpose('models')
    cfg = mmcv.Config.fromfile(os.path.join(os.path.dirname(import_mmpose().__file__), MMPOSE_CONFIG))
    cfg.model.pretrained = None  # ImageNet weights: a download, and overwritten below anyway
    torch.manual_seed(0)
    pose_model = mmpose.build_posenet(cfg.model)
    g = torch.Generator().manual_seed(1)
    state_dict = {}
    for key, tensor in pose_model.state_dict().items():
        if tensor.is_floating_point():
            tensor = torch.rand(tensor.shape, generator=g) + 0.5  # positive: valid BN variances
        state_dict[key] = tensor
    path = tmp_path_factory.mktemp('pose') / 'hrnet_w32_coco_256x192.pth'
    torch.save(dict(state_dict=state_dict, meta=dict()), path)
    return path, state_dict


def test_pose_backbone_loads_and_only_the_absent_fuse_layers_are_fresh(pose_checkpoint, caplog):
    path, source = pose_checkpoint
    cfg = mmcv.Config.fromfile(str(CONFIG))
    (pretrained, ) = [init for init in cfg.model.backbone.init_cfg if init.type == 'Pretrained']
    pretrained.checkpoint = str(path)
    model = build_detector(cfg.model)
    with caplog.at_level(logging.WARNING, logger='mmcv'):
        model.backbone.init_weights()

    loaded = model.backbone.state_dict()
    from_pose = {
        key[len('backbone.'):]: value
        for key, value in source.items() if key.startswith('backbone.')
    }
    assert set(from_pose) <= set(loaded)
    for key, value in from_pose.items():
        assert torch.equal(loaded[key], value), key

    # mmpose's last stage-4 module (multiscale_output=False) fuses into branch 0 only
    absent = {key for key in loaded if re.match(r'stage4\.2\.fuse_layers\.[123]\.', key)}
    assert set(loaded) - set(from_pose) == absent
    fresh_tensors = {key for key in absent if not key.endswith('num_batches_tracked')}
    assert len(fresh_tensors) == 65  # 13 conv + BN pairs: conv weight, BN weight, bias, mean, var
    (message, ) = [r.getMessage() for r in caplog.records if 'missing keys' in r.getMessage()]
    logged = re.search(r'missing keys in source state_dict: (.*)', message).group(1)
    assert set(logged.split(', ')) == fresh_tensors
    assert 'unexpected key' not in message  # the pose head (keypoint_head.*) is left out by the prefix
