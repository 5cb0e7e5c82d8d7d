"""Checks that a config names registered types, with the close matches of a misspelt one."""
import difflib
import sys
import warnings

from mmcv.utils import Registry


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


def did_you_mean(matches):
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
    return (f"'{type_name}' is not in the {registry_name} registry" +
            did_you_mean(close_matches(type_name, keys)))


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
