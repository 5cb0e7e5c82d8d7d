"""load_checkpoint_excluding: a fine-tuning recipe's load_from without the head it replaces."""
import logging

import torch
import torch.nn as nn

from mmhrkpt.engine import load_checkpoint_excluding


class _Model(nn.Module):

    def __init__(self, head_width):
        super().__init__()
        self.backbone = nn.Conv2d(3, 4, 3)
        self.roi_head = nn.Module()
        self.roi_head.keypoint_head = nn.Conv2d(4, head_width, 1)


def test_excluded_tensors_are_left_out_and_the_rest_loaded(tmp_path, caplog):
    torch.manual_seed(0)
    old = _Model(head_width=8)
    torch.save(dict(state_dict=old.state_dict(), meta={}), tmp_path / 'old.pth')
    new = _Model(head_width=5)
    head_before = new.roi_head.keypoint_head.weight.clone()
    logger = logging.getLogger('test_load_checkpoint_excluding')
    with caplog.at_level(logging.INFO):
        load_checkpoint_excluding(new, str(tmp_path / 'old.pth'), ['roi_head.keypoint_head.'], logger=logger)
    assert torch.equal(new.backbone.weight, old.backbone.weight)
    assert torch.equal(new.roi_head.keypoint_head.weight, head_before)
    text = caplog.text
    assert '2 tensors loaded, 2 left out' in text
    assert 'missing keys in source state_dict: roi_head.keypoint_head.weight, ' \
           'roi_head.keypoint_head.bias' in text
    assert 'size mismatch' not in text
