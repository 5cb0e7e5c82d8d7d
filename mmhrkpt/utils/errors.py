"""Errors of the tools reported in one line, with close matches of a misspelt name."""
import logging
import os
import re
import sys
import traceback

from mmcv.runner import get_dist_info

from .config_check import ConfigError, close_matches, did_you_mean, unknown_type_message

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
            text += did_you_mean(close_matches(match.group(2), dir(module)))
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
                handler.handle(
                    logger.makeRecord(logger.name, logging.ERROR, __file__, 0, message, None, sys.exc_info()))
                log_files.append(handler.baseFilename)
        rank, world_size = get_dist_info()
        prefix = f'[rank {rank}] ' if world_size > 1 else ''
        where = (f'traceback in {log_files[0]}' if log_files else 'MMHRKPT_TRACEBACK=1 shows the traceback')
        print(f'{prefix}error: {message}\n({where})', file=sys.stderr, flush=True)
        return 1
