"""Training with the mmcv Runner, from a config (what tools/train.py calls).

Built from mmdet's pieces (data loaders, optimizer, runner, hooks); what differs from
``mmdet.apis.train_detector``: keypoint evaluation hooks, distributed training on CPU (gloo) with
a DDP wrapper that works with torch 2.x, the prediction-picture hook fed with the validation set,
TensorBoard only when installed, a check that the model and the dataset agree on the keypoints,
the NaN/inf stop always placed before the optimizer step, a count of skipped images,
``auto_resume`` that only picks a complete checkpoint, ``load_from_exclude`` (key prefixes of the
``load_from`` checkpoint that a fine-tuning recipe's new head replaces), and bfloat16 mixed precision
on CPUs that have it (``cpu_bf16 = True``, :mod:`mmhrkpt.engine.cpu_bf16`). The LR is scaled by the
batch size as mmdet does (``auto_scale_lr``) when the config enables it.
"""
import numpy as np
from mmcv.runner import DistSamplerSeedHook, EpochBasedRunner, Fp16OptimizerHook, OptimizerHook, build_runner
from mmdet.apis.train import auto_scale_lr
from mmdet.core import build_optimizer
from mmdet.datasets import build_dataloader, build_dataset, replace_ImageToTensor
from mmdet.utils import compat_cfg, get_root_logger

from mmhrkpt.core.hooks import (DistKeypointEvalHook, KeypointEvalHook, KeypointVisualizationHook,
                                SkippedImagesHook, place_finite_loss_hook, place_progress_hook)
from mmhrkpt.datasets.utils import leaf_datasets
from mmhrkpt.engine import (enable_cpu_bf16, find_latest_checkpoint, load_checkpoint_excluding,
                            share_skipped_files, wrap_model)


def check_keypoint_consistency(model, dataset):
    """Fail early when the keypoint head and the dataset disagree on K."""
    datasets = dataset if isinstance(dataset, (list, tuple)) else [dataset]
    head_k = model.roi_head.num_keypoints
    for ds in datasets:
        ds_k = getattr(ds, 'num_keypoints', None)
        if ds_k is not None and ds_k != head_k:
            raise ValueError(f'model.roi_head.keypoint_head.num_keypoints={head_k} but the dataset '
                             f'{type(ds).__name__} ({getattr(ds, "ann_file", "")}) has {ds_k} keypoints; set '
                             'num_keypoints in the config to match the dataset meta')


def apply_joint_weights(model, dataset, logger):
    """Hand the training set's ``joint_weights`` (dataset meta) to the keypoint head, unless its
    config gives its own."""
    found = [
        leaf.joint_weights for leaf in leaf_datasets(dataset)
        if getattr(leaf, 'joint_weights', None) is not None
    ]
    if not found:
        return
    if any(not np.array_equal(found[0], other) for other in found[1:]):
        raise ValueError('the training datasets give different joint_weights; give '
                         'model.roi_head.keypoint_head.joint_weights in the config')
    head = model.roi_head.keypoint_head
    if getattr(head, 'joint_weights', None) is not None:
        logger.info('keypoint loss: the joint_weights of the keypoint head config are used, not '
                    "the dataset meta's")
        return
    head.set_joint_weights(found[0])
    logger.info(f'keypoint loss weighted per keypoint by the dataset meta: {found[0].tolist()}')


def _log_hooks(log_config, logger):
    """Drop the TensorBoard logger when tensorboard is not installed (said once in the log)."""
    hooks = []
    for hook in log_config.get('hooks', []):
        if hook['type'] == 'TensorboardLoggerHook':
            try:
                import tensorboard  # noqa: F401
            except ImportError:
                logger.info('tensorboard is not installed: TensorboardLoggerHook skipped')
                continue
        hooks.append(hook)
    return dict(log_config, hooks=hooks)


def train_detector(model, dataset, cfg, distributed=False, validate=False, timestamp=None, meta=None):
    """Train ``model`` on ``dataset`` (a dataset or a list of them) as ``cfg`` says.

    Args:
        model (nn.Module): built detector.
        dataset (Dataset | list[Dataset]): training set(s).
        cfg (mmcv.Config): the full config, with ``work_dir``, ``gpu_ids``, ``device``, ``seed``.
        distributed (bool): torch.distributed is initialised (NCCL on GPU, gloo on CPU).
        validate (bool): evaluate ``cfg.data.val`` every ``cfg.evaluation.interval`` epochs.
    """
    cfg = compat_cfg(cfg)
    fp16_cfg = cfg.get('fp16', None)
    if fp16_cfg is not None and cfg.device != 'cuda':
        # mmcv's fp16 runs the half-precision parts under CUDA autocast, which CPUs do not have
        raise ValueError(f"fp16 = {dict(fp16_cfg)} needs a CUDA GPU (device is '{cfg.device}'): remove "
                         'the fp16 setting to train on CPU')
    logger = get_root_logger(log_level=cfg.log_level)
    datasets = dataset if isinstance(dataset, (list, tuple)) else [dataset]
    check_keypoint_consistency(model, datasets)
    apply_joint_weights(model, datasets[0], logger)

    runner_type = cfg.runner['type']
    loader_cfg = dict(
        samples_per_gpu=2,
        workers_per_gpu=2,
        num_gpus=len(cfg.gpu_ids),
        dist=distributed,
        seed=cfg.seed,
        runner_type=runner_type,
        persistent_workers=False)
    loader_cfg.update(cfg.data.get('train_dataloader', {}))
    share_skipped_files(datasets, loader_cfg['workers_per_gpu'])
    data_loaders = [build_dataloader(ds, **loader_cfg) for ds in datasets]

    # mmdet's linear scaling rule (a no-op unless auto_scale_lr.enable): lr x total batch size /
    # auto_scale_lr.base_batch_size, logged; it reads the batch per GPU from train_dataloader
    cfg.data.train_dataloader.samples_per_gpu = loader_cfg['samples_per_gpu']
    auto_scale_lr(cfg, distributed, logger)

    if cfg.get('cpu_bf16', False):
        if cfg.get('fp16', None) is not None:
            raise ValueError('cpu_bf16=True and fp16 are both set in the config: fp16 is mixed '
                             'precision on a GPU, cpu_bf16 on a CPU; keep one')
        # before the data-parallel wrapper; refused (float32, with a warning) without native bf16
        enable_cpu_bf16(model, cfg.device, logger)
    model = wrap_model(
        model,
        cfg.device,
        distributed,
        gpu_ids=cfg.gpu_ids,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    optimizer = build_optimizer(model, cfg.optimizer)
    runner = build_runner(
        cfg.runner,
        default_args=dict(model=model, optimizer=optimizer, work_dir=cfg.work_dir, logger=logger, meta=meta))
    runner.timestamp = timestamp  # so .log and .log.json share their name

    if fp16_cfg is not None:
        optimizer_config = Fp16OptimizerHook(**cfg.optimizer_config, **fp16_cfg, distributed=distributed)
    elif distributed and 'type' not in cfg.optimizer_config:
        optimizer_config = OptimizerHook(**cfg.optimizer_config)
    else:
        optimizer_config = cfg.optimizer_config
    runner.register_training_hooks(
        cfg.lr_config,
        optimizer_config,
        cfg.checkpoint_config,
        _log_hooks(cfg.log_config, logger),
        cfg.get('momentum_config', None),
        custom_hooks_config=cfg.get('custom_hooks', None))
    if distributed and isinstance(runner, EpochBasedRunner):
        runner.register_hook(DistSamplerSeedHook())
    place_finite_loss_hook(runner, logger)
    if any(hasattr(leaf, 'skipped_files') for ds in datasets for leaf in leaf_datasets(ds)):
        runner.register_hook(SkippedImagesHook(), priority='LOW')

    val_dataset = None
    if validate or any(isinstance(h, KeypointVisualizationHook) for h in runner.hooks):
        val_dataset = build_dataset(cfg.data.val, dict(test_mode=True))
    if validate:
        val_loader_cfg = dict(
            samples_per_gpu=1, workers_per_gpu=2, dist=distributed, shuffle=False, persistent_workers=False)
        val_loader_cfg.update(cfg.data.get('val_dataloader', {}))
        if val_loader_cfg['samples_per_gpu'] > 1:
            cfg.data.val.pipeline = replace_ImageToTensor(cfg.data.val.pipeline)
        val_loader = build_dataloader(val_dataset, **val_loader_cfg)
        eval_cfg = dict(cfg.get('evaluation', {}))
        eval_cfg['by_epoch'] = runner_type != 'IterBasedRunner'
        eval_hook = DistKeypointEvalHook if distributed else KeypointEvalHook
        runner.register_hook(eval_hook(val_loader, **eval_cfg), priority='LOW')
    for hook in runner.hooks:
        if isinstance(hook, KeypointVisualizationHook):
            hook.dataset = val_dataset
    place_progress_hook(runner)  # after the evaluation hook registered above

    resume_from = cfg.resume_from
    if resume_from is None and cfg.get('auto_resume'):
        resume_from = find_latest_checkpoint(cfg.work_dir, logger=logger)
        if resume_from is None:
            logger.info(f'auto-resume: no complete checkpoint in {cfg.work_dir}, starting afresh')
    if resume_from:
        logger.info(f'resuming from {resume_from}')
        runner.resume(resume_from)
    elif cfg.load_from and cfg.get('load_from_exclude'):
        load_checkpoint_excluding(runner.model, cfg.load_from, cfg.load_from_exclude, logger=logger)
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from)
    runner.run(data_loaders, cfg.workflow)
