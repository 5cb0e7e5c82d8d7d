"""From a fresh clone: a state dict of torchvision's keypointrcnn_resnet50_fpn(weights=None,
weights_backbone=None) through tools/model_converters/torchvision2mmhrkpt.py, demo/image_demo.py on the
converted checkpoint, and tools/model_converters/publish_model.py, each as a user runs it."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import mmcv
import numpy as np
import torch

from mmhrkpt.testing.synthetic import synthesize_image

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'krcnn_r50' / 'krcnn_r50_fpn_onehot_torchvision_coco.py'


def _run(args, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.run(
        [sys.executable] + [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def test_convert_demo_and_publish_from_the_command_line(tmp_path):
    from torchvision.models.detection import keypointrcnn_resnet50_fpn
    torch.manual_seed(0)
    state_dict = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None).state_dict()
    torch.save(state_dict, tmp_path / 'keypointrcnn_resnet50_fpn.pth')
    out = _run([
        ROOT / 'tools' / 'model_converters' / 'torchvision2mmhrkpt.py', 'keypointrcnn_resnet50_fpn.pth',
        'checkpoints/krcnn_tv.pth'
    ],
               cwd=tmp_path)
    assert f'{len(state_dict)} source tensors' in out
    checkpoint = tmp_path / 'checkpoints' / 'krcnn_tv.pth'
    meta = torch.load(checkpoint, weights_only=True)['meta']
    assert meta['CLASSES'] == ('person', ) and len(meta['keypoint_names']) == 17

    image, _ = synthesize_image(np.random.default_rng(1), image_size=(240, 320), max_persons=3)
    mmcv.imwrite(image, str(tmp_path / 'people.jpg'))
    out = _run(
        [ROOT / 'demo' / 'image_demo.py', 'people.jpg', CONFIG, checkpoint, '--out-file', 'people_drawn.png'],
        cwd=tmp_path)
    assert 'drawn to people_drawn.png' in out
    assert mmcv.imread(str(tmp_path / 'people_drawn.png')).shape == image.shape

    out = _run(
        [ROOT / 'tools' / 'model_converters' / 'publish_model.py', checkpoint, 'published/krcnn_tv.pth'],
        cwd=tmp_path)
    (published, ) = (tmp_path / 'published').glob('krcnn_tv-*.pth')
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    assert published.name == f'krcnn_tv-{digest[:8]}.pth'
    content = torch.load(published, weights_only=True)
    assert set(content) == {'state_dict', 'meta'}
    assert content['meta']['keypoint_names'] == meta['keypoint_names']
