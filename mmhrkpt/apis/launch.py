"""What tools/train.py and tools/test.py share: config set-up and checks, process-group start,
and errors reported in one line."""
import difflib
import logging
import os
import os.path as osp
import re
import sys
import traceback
import warnings

import torch
import torch.distributed as dist
from mmcv.runner import get_dist_info
from mmcv.utils import Registry


def init_distributed(launcher):
    """Start torch.distributed for ``--launcher pytorch`` (torchrun): NCCL on GPUs, gloo on CPU.

    mmcv's ``init_dist`` assumes GPUs; this is the CPU-capable path.

    Returns:
        bool: whether the run is distributed.
    """
    if launcher == 'none':
        return False
    if launcher != 'pytorch':
        raise NotImplementedError(f'launcher {launcher!r}: only "none" and "pytorch" (torchrun)')
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)))
        backend = 'nccl'
    else:
        backend = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return True


def setup_cfg(cfg, args, distributed):
    """Fill in the runtime keys of ``cfg`` from the command line (work_dir, device, gpu_ids)."""
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if distributed:
        _, world_size = get_dist_info()
        cfg.gpu_ids = range(world_size)
        cfg.dist_params = dict(cfg.get('dist_params', {}),
                               backend='nccl' if cfg.device == 'cuda' else 'gloo')
    else:
        cfg.gpu_ids = [0]
    return cfg


# ------------------------------------------------------------------------ clear config errors
class ConfigError(ValueError):
    """A config names something that does not exist (e.g. an unknown ``type``)."""


_OWN_SCOPES = ('mmcv', 'mmdet', 'mmhrkpt')


def _registries_named(name):
    """Every mmcv Registry of the loaded modules called ``name`` (mmdet's 'models', mmcv's
    'hook', mmhrkpt's 'codec', ...)."""
    found = {}
    with warnings.catch_warnings():  # isinstance on some lazy module attributes warns
        warnings.simplefilter('ignore')
        for module in list(sys.modules.values()):
            for value in list(getattr(module, '__dict__', {}).values()):
                if isinstance(value, Registry) and value.name == name:
                    found[id(value)] = value
    return list(found.values())


def close_matches(word, candidates, n=3):
    """Up to ``n`` of ``candidates`` close to ``word`` (difflib), a case-insensitive match first."""
    candidates = sorted(set(candidates))
    exact = [c for c in candidates if c.lower() == word.lower() and c != word]
    lowered = {c.lower(): c for c in candidates}
    similar = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    similar = [lowered[c] for c in similar]
    return list(dict.fromkeys(exact + similar))[:n]


def _did_you_mean(matches):
    if not matches:
        return ''
    return ' (did you mean ' + ', '.join(f"'{m}'" for m in matches) + '?)'


def unknown_type_message(type_name, registry_name):
    """``'X' is not in the R registry (did you mean 'Y'?)`` with the close matches among all the
    registries called ``registry_name``."""
    keys = []
    for reg in _registries_named(registry_name):
        # the same name in another package's registry (mmpose's 'models') is reached as
        # 'scope.Type' from mmdet's
        prefix = '' if reg.scope in _OWN_SCOPES else f'{reg.scope}.'
        keys += [prefix + key for key in reg.module_dict]
    return (f"'{type_name}' is not in the {registry_name} registry"
            + _did_you_mean(close_matches(type_name, keys)))


_UNKNOWN_TYPE = re.compile(r"""([\w.\-]+)['"\\]* is not in the ([\w\- ]+?) registry""")
_NO_ATTRIBUTE = re.compile(r"""module '([\w.]+)' has no attribute '(\w+)'""")


def explain_error(err):
    """One line for ``err``: its type and message, with close matches added when it is an unknown
    registry ``type`` (mmcv's ``build_from_cfg`` KeyError, possibly wrapped by the classes being
    built, e.g. ``KeypointRCNN: KeypointRoIHead: ...``) or an unknown ``mmcv.ops`` layer."""
    text = str(err.args[0]) if len(err.args) == 1 else str(err)
    match = None if isinstance(err, ConfigError) else _UNKNOWN_TYPE.search(text)
    if match:
        context = re.sub(r"""['"\\]""", '', text[:match.start()])
        text = context + unknown_type_message(match.group(1), match.group(2))
    elif _NO_ATTRIBUTE.search(text):
        match = _NO_ATTRIBUTE.search(text)
        module = sys.modules.get(match.group(1))
        if module is not None:
            text += _did_you_mean(close_matches(match.group(2), dir(module)))
    elif not str(_innermost(err)).strip():  # a bare assert (maybe prefixed by build_from_cfg)
        text += f' {_failed_line(err)}'
    elif not text.strip(' :'):  # a bare re-raise (mmcv's custom_imports): say what it came from
        inner = _innermost(err)
        text += f' {type(inner).__name__}: {inner}'
    text = ' '.join(text.split())  # one line
    return f'{type(err).__name__}: {text}'


def _innermost(err):
    """The first exception of the chain ``err`` was raised from (``build_from_cfg`` re-raises)."""
    while err.__cause__ or err.__context__:
        err = err.__cause__ or err.__context__
    return err


def _failed_line(err):
    """``(failed: <source line> at file:line)`` where the innermost exception was raised."""
    frames = traceback.extract_tb(_innermost(err).__traceback__)
    if not frames:
        return ''
    frame = frames[-1]
    return f'(failed: {frame.line} at {frame.filename}:{frame.lineno})'


def _check_type(cfg, registry, where, errors):
    obj_type = cfg.get('type') if isinstance(cfg, dict) else None
    if isinstance(obj_type, str) and registry.get(obj_type) is None:
        errors.append(f'{where}.type: {unknown_type_message(obj_type, registry.name)}')


def _check_pipeline(pipeline, where, errors):
    from mmdet.datasets import PIPELINES
    for i, step in enumerate(pipeline or []):
        _check_type(step, PIPELINES, f'{where}[{i}]', errors)
        if isinstance(step, dict) and step.get('transforms'):
            _check_pipeline(step['transforms'], f'{where}[{i}].transforms', errors)


def _check_dataset(cfg, where, errors):
    from mmdet.datasets import DATASETS
    if isinstance(cfg, (list, tuple)):
        for i, item in enumerate(cfg):
            _check_dataset(item, f'{where}[{i}]', errors)
        return
    if not isinstance(cfg, dict):
        return
    _check_type(cfg, DATASETS, where, errors)
    _check_pipeline(cfg.get('pipeline'), f'{where}.pipeline', errors)
    for key in ('dataset', 'datasets'):
        if key in cfg:
            _check_dataset(cfg[key], f'{where}.{key}', errors)


def _updater_hook_type(cfg, suffix):
    policy = cfg.get('policy')
    if not isinstance(policy, str):
        return None
    return (policy.title() if policy == policy.lower() else policy) + suffix


def check_config_types(cfg):
    """Check, before anything is built, that the datasets, pipelines, runner, optimizer and hooks
    of ``cfg`` name registered types (the model is checked when it is built, first).

    Raises:
        ConfigError: every unknown type, with where it is and the close matches.
    """
    from mmcv.runner import HOOKS, OPTIMIZERS, RUNNERS
    errors = []
    for split in ('train', 'val', 'test'):
        if cfg.get('data', {}).get(split) is not None:
            _check_dataset(cfg.data[split], f'data.{split}', errors)
    _check_type(cfg.get('runner'), RUNNERS, 'runner', errors)
    _check_type(cfg.get('optimizer'), OPTIMIZERS, 'optimizer', errors)
    _check_type(cfg.get('optimizer_config'), HOOKS, 'optimizer_config', errors)
    for key, suffix in (('lr_config', 'LrUpdaterHook'), ('momentum_config', 'MomentumUpdaterHook')):
        section = cfg.get(key)
        hook_type = _updater_hook_type(section, suffix) if isinstance(section, dict) else None
        if hook_type and HOOKS.get(hook_type) is None:
            errors.append(f"{key}.policy: '{section['policy']}' gives "
                          f'{unknown_type_message(hook_type, HOOKS.name)}')
    for i, hook in enumerate((cfg.get('log_config') or {}).get('hooks', [])):
        _check_type(hook, HOOKS, f'log_config.hooks[{i}]', errors)
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        _check_type(hook, HOOKS, f'custom_hooks[{i}]', errors)
    if errors:
        raise ConfigError('; '.join(errors))


def run_reporting_errors(main, *args, **kwargs):
    """Run ``main``; an exception becomes one line on stderr (:func:`explain_error`) and exit
    status 1. The traceback goes to the log file when there is one (``MMHRKPT_TRACEBACK=1``: let
    the exception through, traceback and all).

    Returns:
        int: the exit status (0 when ``main`` returned).
    """
    try:
        main(*args, **kwargs)
        return 0
    except Exception as err:  # noqa: BLE001  (reported, then a non-zero exit)
        if os.environ.get('MMHRKPT_TRACEBACK'):
            raise
        message = explain_error(err)
        logger = logging.getLogger('mmdet')
        log_files = []
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler):
                handler.handle(logger.makeRecord(logger.name, logging.ERROR, __file__, 0, message,
                                                 None, sys.exc_info()))
                log_files.append(handler.baseFilename)
        rank, world_size = get_dist_info()
        prefix = f'[rank {rank}] ' if world_size > 1 else ''
        where = (f'traceback in {log_files[0]}' if log_files else
                 'MMHRKPT_TRACEBACK=1 shows the traceback')
        print(f'{prefix}error: {message}\n({where})', file=sys.stderr, flush=True)
        return 1


def shared_tmpdir(prefix='mmhrkpt_dist_'):
    """A temporary folder made by rank 0 and known to every rank (an object broadcast, which gloo
    does on CPU too; one machine)."""
    import tempfile
    path = [tempfile.mkdtemp(prefix=prefix) if get_dist_info()[0] == 0 else None]
    if dist.is_available() and dist.is_initialized():
        dist.broadcast_object_list(path, src=0)
    return path[0]
