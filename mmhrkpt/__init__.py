"""mmhrkpt: HRNet Keypoint R-CNN for mmdet 2.x.

Importing the package registers every module into mmdet's (and mmcv's) registries, so a config needs
nothing but ``import mmhrkpt`` or ``custom_imports = dict(imports=['mmhrkpt'])``.
"""
from .utils import import_mmpose

# mmpose first, past its stale mmcv bound (see utils/mmpose_compat.py); importing mmpose.models
# registers its losses under the 'mmpose' scope (``type='mmpose.JointsMSELoss'``).
import_mmpose('models')

from . import codecs, core, datasets, models  # noqa: E402,F401  (registration)
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'codecs', 'core', 'datasets', 'models']
