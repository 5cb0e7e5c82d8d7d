from .collect_env import collect_env
from .config_check import ConfigError, check_config_types
from .cpu_info import cpu_bf16_support, cpu_model_name
from .errors import explain_error, run_reporting_errors
from .mmpose_compat import import_mmpose

__all__ = [
    'collect_env', 'ConfigError', 'check_config_types', 'explain_error', 'run_reporting_errors',
    'import_mmpose', 'cpu_bf16_support', 'cpu_model_name'
]
