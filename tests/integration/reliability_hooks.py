"""Hooks the reliability tests put into training runs (imported through the config's
``custom_imports``; tests/test_reliability is on the subprocess's PYTHONPATH)."""
import hashlib
import json
import os
import os.path as osp
import signal

from mmcv.fileio.file_client import HardDiskBackend
from mmcv.runner import HOOKS, Hook, get_dist_info


@HOOKS.register_module()
class ParameterDigestHook(Hook):
    """After every optimizer step, append to ``<work_dir>/digest_rank<r>.jsonl`` the iteration, a
    SHA-1 of every parameter's bytes, their sum and the images of the batch, from every rank."""

    def after_train_iter(self, runner):
        module = getattr(runner.model, 'module', runner.model)
        sha = hashlib.sha1()
        total = 0.0
        for name, param in module.named_parameters():
            data = param.detach().cpu().contiguous()
            sha.update(name.encode())
            sha.update(data.numpy().tobytes())
            total += float(data.double().sum())
        metas = runner.data_batch['img_metas'].data[0]
        rank = get_dist_info()[0]
        row = dict(
            iter=runner.iter + 1,
            epoch=runner.epoch + 1,
            sha1=sha.hexdigest(),
            sum=total,
            files=[m['ori_filename'] for m in metas])
        with open(osp.join(runner.work_dir, f'digest_rank{rank}.jsonl'), 'a') as f:
            f.write(json.dumps(row) + '\n')


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """At the end of epoch ``epoch`` (before the checkpoint hook: register it with a higher
    priority), make the next file write put half of its bytes on disk and then SIGKILL the process,
    as a kill in the middle of saving that checkpoint would."""

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 != self.epoch:
            return

        def put_half_then_die(backend, obj, filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        HardDiskBackend.put = put_half_then_die
