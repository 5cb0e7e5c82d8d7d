"""Train a Keypoint R-CNN: python tools/train.py CONFIG [--work-dir DIR] [--cfg-options k=v ...]

An error (an unknown type in the config, a malformed annotation, a NaN/inf loss, ...) ends the run
with one line on stderr and exit status 1; the traceback is in the work dir's log
(``MMHRKPT_TRACEBACK=1`` prints it instead).
"""
import argparse
import copy
import os.path as osp
import sys
import time

import mmcv
from mmcv import Config, DictAction
from mmcv.runner import get_dist_info
from mmdet.apis import init_random_seed, set_random_seed
from mmdet.datasets import build_dataset
from mmdet.models import build_detector
from mmdet.utils import collect_env, get_root_logger, setup_multi_processes

import mmhrkpt  # noqa: F401  (registers mmhrkpt's modules)
from mmhrkpt.apis import train_detector
from mmhrkpt.datasets.utils import dataset_checkpoint_meta
from mmhrkpt.engine import LAUNCHERS, init_distributed, setup_runtime_cfg
from mmhrkpt.utils import check_config_types, run_reporting_errors


def parse_args():
    parser = argparse.ArgumentParser(description='Train a Keypoint R-CNN')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume-from', help='the checkpoint file to resume from')
    parser.add_argument(
        '--auto-resume',
        action='store_true',
        help='resume from the newest complete checkpoint in the work dir, if any')
    parser.add_argument(
        '--no-validate', action='store_true', help='do not evaluate checkpoints during training')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--deterministic', action='store_true', help='deterministic options for CUDNN and torch')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the LR by the total batch size / auto_scale_lr.base_batch_size of '
        'the config (linear scaling rule, as mmdet)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. data.train.ann_file=x.json')
    parser.add_argument(
        '--launcher',
        choices=LAUNCHERS,
        default='none',
        help='job launcher (pytorch: torchrun, see tools/dist_train.sh; slurm: srun, '
        'see tools/slurm_train.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main(args):
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    setup_multi_processes(cfg)  # opencv_num_threads, mp_start_method of the config
    check_config_types(cfg)
    if args.resume_from is not None:
        cfg.resume_from = args.resume_from
    cfg.auto_resume = args.auto_resume
    if args.auto_scale_lr:
        if not (cfg.get('auto_scale_lr') or {}).get('base_batch_size'):
            raise ValueError(f'--auto-scale-lr needs auto_scale_lr.base_batch_size in {args.config} '
                             "(the batch size its LR is meant for; _base_/default_runtime.py sets 16)")
        cfg.auto_scale_lr.enable = True

    distributed = init_distributed(args.launcher, port=cfg.get('dist_params', {}).get('port'))
    cfg = setup_runtime_cfg(cfg, args.config, args.work_dir, distributed)
    mmcv.mkdir_or_exist(osp.abspath(cfg.work_dir))
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    logger = get_root_logger(log_file=osp.join(cfg.work_dir, f'{timestamp}.log'), log_level=cfg.log_level)
    if get_dist_info()[0] == 0:
        cfg.dump(osp.join(cfg.work_dir, osp.basename(args.config)))

    env_info = '\n'.join(f'{k}: {v}' for k, v in collect_env().items())
    logger.info('Environment info:\n' + env_info)
    logger.info(f'Distributed training: {distributed}')
    logger.info(f'Config:\n{cfg.pretty_text}')

    seed = init_random_seed(args.seed, device=cfg.device)
    logger.info(f'Set random seed to {seed}, deterministic: {args.deterministic}')
    set_random_seed(seed, deterministic=args.deterministic)
    cfg.seed = seed
    meta = dict(env_info=env_info, config=cfg.pretty_text, seed=seed, exp_name=osp.basename(args.config))

    model = build_detector(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    model.init_weights()
    datasets = [build_dataset(cfg.data.train)]
    if len(cfg.workflow) == 2:
        val_dataset = copy.deepcopy(cfg.data.val)
        val_dataset.pipeline = cfg.data.train.pipeline
        datasets.append(build_dataset(val_dataset))
    if cfg.checkpoint_config is not None:
        # CLASSES and the keypoint meta travel with every checkpoint (init_model, the demo)
        cfg.checkpoint_config.meta = dict(
            mmhrkpt_version=mmhrkpt.__version__, **dataset_checkpoint_meta(datasets[0]))
    model.CLASSES = datasets[0].CLASSES
    train_detector(
        model,
        datasets,
        cfg,
        distributed=distributed,
        validate=not args.no_validate,
        timestamp=timestamp,
        meta=meta)


if __name__ == '__main__':
    sys.exit(run_reporting_errors(main, parse_args()))
