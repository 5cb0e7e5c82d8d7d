# As the DARK config, with the backbone of mmpose's top-down HRNet-W32 256x192 trained on COCO keypoints
# (74.6 AP with a person detector) instead of the ImageNet one: the backbone already knows people.
# mmpose ends stage 4 with multiscale_output=False, so its checkpoint has no fuse layers for branches
# 1-3 of the last stage-4 module, which HRFPN reads: those 13 conv + BN pairs
# (backbone.stage4.2.fuse_layers.{1,2,3}.*, 65 tensors) start as the ImageNet configs' fresh layers
# (Kaiming convs, unit BN) and mmcv logs their names ("missing keys in source state_dict"); every
# other backbone tensor comes from the checkpoint. A downloaded copy (README, "Pretrained weights"):
#   --cfg-options model.backbone.init_cfg.2.checkpoint=checkpoints/<the .pth file>
_base_ = './krcnn_hrnet_w32_hrfpn_dark_1x_coco.py'
pose_checkpoint = ('https://download.openmmlab.com/mmpose/top_down/hrnet/'
                   'hrnet_w32_coco_256x192-c78dce93_20200708.pth')
model = dict(
    backbone=dict(init_cfg=[
        dict(type='Kaiming', layer='Conv2d'),
        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
        # mmpose's TopDown checkpoint: backbone.* (this model's HRNet) and keypoint_head.* (left out)
        dict(type='Pretrained', checkpoint=pose_checkpoint, prefix='backbone.'),
    ]))
