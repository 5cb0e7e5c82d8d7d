"""mmhrkpt: HRNet Keypoint R-CNN for mmdet 2.x.

Importing the package registers every module into mmdet's (and mmcv's) registries, so a config needs
nothing but ``import mmhrkpt`` or ``custom_imports = dict(imports=['mmhrkpt'])``. It imports no mmpose:
mmpose's modules (``type='mmpose.JointsMSELoss'``) are reached through ``mmhrkpt.utils.import_mmpose``
where a config or a test uses them.
"""
from . import codecs, core, datasets, engine, models, ops  # noqa: F401  (registration)
from .version import __version__

__all__ = ['__version__', 'codecs', 'core', 'datasets', 'engine', 'models', 'ops']
