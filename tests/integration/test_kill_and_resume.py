"""A run killed (SIGKILL) while it writes its third checkpoint, restarted with --auto-resume, ends
where an uninterrupted run of the same config and seed ends: same epoch, iteration, learning rate,
and (with --deterministic, one thread) the same weights to the bit."""
import os

import pytest
import torch
from reliability_utils import KILLED, describe, json_rows, log_text, make_data, train, write_config

from mmhrkpt.engine import is_complete_checkpoint

EPOCHS = 3
KILL_HOOK = "custom_hooks = [dict(type='FiniteLossHook', priority='VERY_HIGH'), " \
            "dict(type='KillDuringSaveHook', epoch=3, priority='HIGH')]"


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('resume')
    _, options = make_data(root / 'data')
    config = write_config(root / 'tiny.py', max_epochs=EPOCHS)
    killer = write_config(root / 'tiny_killed.py', max_epochs=EPOCHS, extra=KILL_HOOK)
    args = ('--seed', '0', '--deterministic')
    whole = train(config, root / 'whole', options, *args)
    assert whole.returncode == 0, describe(whole)
    killed = train(killer, root / 'resumed', options, *args)
    after_kill = sorted(os.listdir(root / 'resumed'))
    latest_after_kill = os.path.realpath(root / 'resumed' / 'latest.pth')
    # the same work dir, the config without the killer
    resumed = train(config, root / 'resumed', options, *args, '--auto-resume')
    return dict(
        root=root,
        whole=whole,
        killed=killed,
        after_kill=after_kill,
        latest_after_kill=latest_after_kill,
        resumed=resumed)


def test_kill_during_save_leaves_the_previous_checkpoint(runs):
    assert runs['killed'].returncode == KILLED, describe(runs['killed'])
    files = runs['after_kill']
    assert 'epoch_1.pth' in files and 'epoch_2.pth' in files
    assert 'epoch_3.pth' not in files  # its half-written bytes stayed in the staging folder
    assert any(name.startswith('.ckpt-staging-') for name in files), files
    assert os.path.basename(runs['latest_after_kill']) == 'epoch_2.pth'
    assert is_complete_checkpoint(runs['latest_after_kill'])


def test_auto_resume_continues_from_the_newest_complete_checkpoint(runs):
    resumed = runs['resumed']
    assert resumed.returncode == 0, describe(resumed)
    work = runs['root'] / 'resumed'
    log = log_text(work)
    assert f"resumed from {work / 'epoch_2.pth'}: epoch 2, iter 4" in log
    assert 'random state restored' in log
    assert 'left by a checkpoint save that was interrupted' in log  # the staging folder went
    assert not any(name.startswith('.ckpt-staging-') for name in os.listdir(work))


def _last_train_row(work):
    return [r for r in json_rows(work) if r.get('mode') == 'train'][-1]


def test_resumed_run_ends_like_the_uninterrupted_one(runs):
    whole = torch.load(runs['root'] / 'whole' / 'latest.pth', map_location='cpu')
    resumed = torch.load(runs['root'] / 'resumed' / 'latest.pth', map_location='cpu')
    for key in ('epoch', 'iter'):
        assert resumed['meta'][key] == whole['meta'][key]
    assert whole['meta']['epoch'] == EPOCHS and whole['meta']['iter'] == 2 * EPOCHS
    row_whole = _last_train_row(runs['root'] / 'whole')
    row_resumed = _last_train_row(runs['root'] / 'resumed')
    assert (row_resumed['epoch'], row_resumed['iter']) == (row_whole['epoch'], row_whole['iter'])
    assert row_resumed['lr'] == row_whole['lr']
    assert resumed['optimizer']['param_groups'][0]['lr'] == \
        whole['optimizer']['param_groups'][0]['lr']
    # the weights, bit for bit (one thread, --deterministic)
    assert whole['state_dict'].keys() == resumed['state_dict'].keys()
    diffs = {
        k: (whole['state_dict'][k].double() - resumed['state_dict'][k].double()).abs().max()
        for k in whole['state_dict'] if whole['state_dict'][k].numel()
    }
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] == 0, f'max |difference| {float(diffs[worst]):.3g} in {worst}'
    # and the losses of the epoch after the resume
    assert row_resumed['loss'] == row_whole['loss']
