"""A run whose learning rate turns absurd after its first epoch stops at the first NaN/inf loss with
one line naming the iteration and the losses, exits non-zero, and keeps a loadable checkpoint."""
import re

import pytest
import torch
from mmcv import Config
from mmcv.runner import load_checkpoint
from mmdet.models import build_detector
from reliability_utils import describe, log_text, make_data, train, write_config

# lr 2e-3 in epoch 1, 2e27 from epoch 2 on
ABSURD_LR = "lr_config = dict(_delete_=True, policy='step', step=[1], gamma=1e30)"


@pytest.fixture(scope='module')
def diverged(tmp_path_factory):
    root = tmp_path_factory.mktemp('diverge')
    _, options = make_data(root / 'data')
    config = write_config(root / 'tiny.py', max_epochs=3, extra=ABSURD_LR)
    proc = train(config, root / 'work', options, '--seed', '0', '--no-validate')
    return dict(root=root, work=root / 'work', proc=proc, config=config)


def test_stops_with_the_iteration_and_the_loss(diverged):
    proc = diverged['proc']
    assert proc.returncode == 1, describe(proc)
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, proc.stderr[-3000:]
    match = re.search(r'Non-finite loss at iteration (\d+) \(epoch (\d+)\): (.+?)\. Training', lines[0])
    assert match, lines[0]
    iteration, epoch, losses = int(match.group(1)), int(match.group(2)), match.group(3)
    assert epoch >= 2 and iteration > 2  # epoch 1 (2 iterations) was fine
    assert re.search(r'loss\w*=(nan|inf|-inf)', losses), losses
    assert 'Traceback' not in proc.stderr
    # the traceback went to the log, with the message
    assert 'Non-finite loss at iteration' in log_text(diverged['work'])


def test_the_last_good_checkpoint_loads(diverged):
    work = diverged['work']
    assert (work / 'latest.pth').resolve().name == 'epoch_1.pth'
    assert not (work / 'epoch_2.pth').exists()
    cfg = Config.fromfile(diverged['config'])
    model = build_detector(cfg.model)
    checkpoint = load_checkpoint(model, str(work / 'latest.pth'), map_location='cpu', strict=True)
    assert checkpoint['meta']['epoch'] == 1
    assert all(torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point())
