checkpoint_config = dict(interval=1, max_keep_ckpts=3)
# TensorBoard (in the runtime requirements) gets the logged scalars, losses, lr and the validation
# keypoint and box AP, in work_dir/tf_logs; mmhrkpt.apis.train_detector drops the hook when
# tensorboard is not installed.
log_config = dict(
    interval=50, hooks=[
        dict(type='TextLoggerHook'),
        dict(type='TensorboardLoggerHook'),
    ])
custom_imports = dict(imports=['mmhrkpt'], allow_failed_imports=False)
custom_hooks = [
    dict(type='NumClassCheckHook'),
    # Stops training at the first NaN/inf loss, naming the iteration and the loss.
    dict(type='FiniteLossHook', priority='VERY_HIGH'),
    # Every `interval` epochs, draws predicted skeletons on a few validation images.
    dict(type='KeypointVisualizationHook', interval=1, num_images=4),
]
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
opencv_num_threads = 0
mp_start_method = 'fork'
# tools/train.py --auto-scale-lr multiplies the LR by (total batch size / base_batch_size).
auto_scale_lr = dict(enable=False, base_batch_size=16)
# cpu_bf16 = True (or --cfg-options cpu_bf16=True): train with bfloat16 autocast on a CPU that has
# native bfloat16 (AVX512-BF16 / AMX); refused with a warning elsewhere (mmhrkpt/engine/cpu_bf16.py).
cpu_bf16 = False
