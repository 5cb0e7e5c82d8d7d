"""Make a checkpoint fit to share, as mmdet's publish_model.py:

    python tools/model_converters/publish_model.py IN.pth OUT.pth

writes ``OUT-<the first 8 hex digits of its sha256>.pth``: the weights and the meta, without the
optimizer state and without what only a resumed run reads (the random-number state). The meta keeps
CLASSES and the keypoint meta that ``init_model`` and ``demo/image_demo.py`` use; a checkpoint without
them is published with a warning (its users must then give the dataset meta in the config).
"""
import argparse
import hashlib
import os
import os.path as osp
import sys

import torch

from mmhrkpt.datasets.keypoint_meta import CHECKPOINT_META_KEYS
from mmhrkpt.utils import run_reporting_errors

# meta entries only a resumed training reads
RESUME_ONLY_META = ('rng_state', )
HASH_DIGITS = 8


def sha256_of(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def publish(in_file, out_file):
    """Strip ``in_file`` into ``out_file`` renamed with its hash; returns the final path."""
    checkpoint = torch.load(in_file, map_location='cpu', weights_only=True)
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{in_file} is not an mmhrkpt/mmdet checkpoint (no "state_dict")')
    meta = dict(checkpoint.get('meta', None) or {})
    for key in RESUME_ONLY_META:
        meta.pop(key, None)
    missing = [key for key in CHECKPOINT_META_KEYS if key not in meta]
    if missing:
        print(
            f'warning: {in_file} carries no {", ".join(missing)} in its meta; users of the published '
            'model must give the keypoint meta in the config (data.test.dataset_info)',
            file=sys.stderr)
    published = dict(state_dict=checkpoint['state_dict'], meta=meta)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    torch.save(published, out_file)
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    final = f'{stem}-{sha256_of(out_file)[:HASH_DIGITS]}.pth'
    os.replace(out_file, final)
    dropped = sorted(set(checkpoint) - {'state_dict', 'meta'})
    print(f'published {final} (left out: {", ".join(dropped + list(RESUME_ONLY_META)) or "nothing"})')
    return final


def main():
    parser = argparse.ArgumentParser(description='Strip a checkpoint for publishing and name it by hash')
    parser.add_argument('in_file', help='checkpoint to publish')
    parser.add_argument('out_file', help='output name; the sha256 prefix is added before .pth')
    args = parser.parse_args()
    publish(args.in_file, args.out_file)


if __name__ == '__main__':
    sys.exit(run_reporting_errors(main))
