# 12 epochs, lr 0.02 for 16 images per iteration (8 GPUs x 2 images), steps at epochs 8 and 11.
optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))
lr_config = dict(policy='step', warmup='linear', warmup_iters=500, warmup_ratio=0.001, step=[8, 11])
# Atomic checkpoints that also carry the RNG state (mmhrkpt/engine/runner.py).
runner = dict(type='AtomicEpochBasedRunner', max_epochs=12)
