"""What ``import mmhrkpt`` loads, and what it must not."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize('module', [
    'mmpose', 'mmhrkpt.testing', 'mmhrkpt.testing.mmpose_reference', 'mmhrkpt.deployment', 'onnx',
    'onnxruntime'
])
def test_import_mmhrkpt_does_not_load(module):
    code = f'import mmhrkpt, sys; assert {module!r} not in sys.modules, "{module} was imported"'
    subprocess.run([sys.executable, '-c', code], check=True)


def test_import_mmhrkpt_registers_its_modules():
    code = ('import mmhrkpt\n'
            'from mmdet.models.builder import DETECTORS, HEADS, LOSSES, ROI_EXTRACTORS\n'
            'from mmcv.runner import HOOKS, RUNNERS\n'
            'from mmhrkpt.codecs import CODECS\n'
            "assert DETECTORS.get('KeypointRCNN') and HEADS.get('KeypointRoIHead')\n"
            "assert LOSSES.get('HeatmapMSELoss') and ROI_EXTRACTORS.get('SingleLevelRoIExtractor')\n"
            "assert HOOKS.get('FiniteLossHook') and RUNNERS.get('AtomicEpochBasedRunner')\n"
            "assert CODECS.get('DarkHeatmap')\n")
    subprocess.run([sys.executable, '-c', code], check=True)
