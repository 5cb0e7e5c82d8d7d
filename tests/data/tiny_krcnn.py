# The tiny Keypoint R-CNN that the tool, reliability and benchmark tests train: the synthetic config
# made narrow everywhere, with few proposals, so that a step takes well under a second on CPU.
_base_ = '../../configs/synthetic/krcnn_hrnet_w18_synthetic.py'
model = dict(
    backbone=dict(
        extra=dict(
            stage1=dict(num_channels=(8, ), num_blocks=(1, )),
            stage2=dict(num_channels=(8, 16), num_blocks=(1, 1)),
            stage3=dict(num_channels=(8, 16, 32), num_blocks=(1, 1, 1)),
            stage4=dict(num_channels=(8, 16, 32, 64), num_blocks=(1, 1, 1, 1)))),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=32),
        keypoint_roi_extractor=dict(out_channels=16),
        keypoint_head=dict(in_channels=16, num_convs=1, conv_out_channels=16, deconv_out_channels=16)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=50), rcnn=dict(sampler=dict(num=32))),
    # score_thr 0: an untrained model still returns detections whose keypoints the tests check
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=50), rcnn=dict(score_thr=0.0)))
# float32 whatever the CPU: what the tool tests check must not depend on whether it has bfloat16
cpu_bf16 = False
