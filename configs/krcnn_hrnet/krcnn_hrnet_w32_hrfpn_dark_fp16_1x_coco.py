# As the DARK config, in mixed precision (as mmdet's Mask R-CNN fp16 configs): the backbone, neck and
# heads' forwards in half precision, losses, targets and decoding in float32, a dynamic loss scale.
# Needs a CUDA GPU.
_base_ = './krcnn_hrnet_w32_hrfpn_dark_1x_coco.py'
fp16 = dict(loss_scale='dynamic')
