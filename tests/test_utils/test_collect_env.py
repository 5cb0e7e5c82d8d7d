import subprocess
import sys
from pathlib import Path

from mmhrkpt.utils import collect_env

ROOT = Path(__file__).resolve().parents[2]


def test_collect_env_keys_and_versions():
    env = collect_env()
    for key in ('Python', 'PyTorch', 'TorchVision', 'MMCV', 'MMCV CUDA ops', 'MMDetection', 'MMPose',
                'NumPy'):
        assert key in env, key
    assert env['MMCV'] == '1.7.2'
    assert env['MMDetection'].startswith('2.28.')
    assert env['MMPose'] == '0.29.0'
    assert int(env['NumPy'].split('.')[0]) < 2
    assert env['MMCV ops compiled'].startswith('yes')


def test_collect_env_script_prints_versions():
    out = subprocess.run([sys.executable, str(ROOT / 'tools' / 'misc' / 'collect_env.py')],
                         check=True,
                         capture_output=True,
                         text=True,
                         cwd=ROOT).stdout
    lines = dict(line.split(': ', 1) for line in out.strip().splitlines())
    assert lines['MMCV'] == '1.7.2'
    assert lines['MMPose'] == '0.29.0'
    assert lines['MMDetection'].startswith('2.28.')
    assert 'PyTorch' in lines and 'NumPy' in lines and 'Python' in lines
    assert lines['MMCV CUDA ops'] in ('no', ) or lines['MMCV CUDA ops'].startswith('yes')
