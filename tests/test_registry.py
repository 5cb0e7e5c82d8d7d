"""`import mmhrkpt` registers every module of the project into mmdet's / mmcv's registries."""
from mmcv.runner import HOOKS
from mmdet.datasets import DATASETS, PIPELINES
from mmdet.models.builder import DETECTORS, HEADS

from mmhrkpt.codecs import CODECS


def test_models_registered():
    assert DETECTORS.get('KeypointRCNN') is not None
    for name in ('KeypointRoIHead', 'HeatmapKeypointHead', 'OneHotKeypointHead'):
        assert HEADS.get(name) is not None, name
    from mmdet.models.builder import ROI_EXTRACTORS
    assert ROI_EXTRACTORS.get('SingleLevelRoIExtractor') is not None
    # HRNet and HRFPN are mmdet's own, not re-registered by mmhrkpt
    from mmdet.models.builder import BACKBONES, NECKS
    assert BACKBONES.get('HRNet').__module__.startswith('mmdet.')
    assert NECKS.get('HRFPN').__module__.startswith('mmdet.')


def test_codecs_registered():
    for name in ('MSRAHeatmap', 'DarkHeatmap', 'UDPHeatmap', 'OneHotHeatmap'):
        assert CODECS.get(name) is not None, name


def test_datasets_and_pipelines_registered():
    assert DATASETS.get('CocoKeypointDataset') is not None
    for name in ('LoadKeypointAnnotations', 'KeypointFormatBundle'):
        assert PIPELINES.get(name) is not None, name


def test_hooks_registered():
    for name in ('KeypointEvalHook', 'DistKeypointEvalHook', 'FiniteLossHook', 'KeypointVisualizationHook'):
        assert HOOKS.get(name) is not None, name


def test_registered_modules_come_from_mmhrkpt():
    assert DETECTORS.get('KeypointRCNN').__module__.startswith('mmhrkpt.')
    assert HEADS.get('KeypointRoIHead').__module__.startswith('mmhrkpt.')
