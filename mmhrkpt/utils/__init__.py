from .collect_env import collect_env
from .mmpose_compat import import_mmpose

__all__ = ['collect_env', 'import_mmpose']
