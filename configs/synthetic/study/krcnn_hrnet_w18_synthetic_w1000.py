# Head/codec study (docs/study.md): the demo recipe with the heatmap loss weighted x1000 instead of x3000,
# to see how much the keypoint loss takes from the box branch that shares the backbone.
_base_ = '../krcnn_hrnet_w18_synthetic.py'
model = dict(roi_head=dict(keypoint_head=dict(loss_keypoint=dict(loss_weight=1000.0))))
