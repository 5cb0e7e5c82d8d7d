# Head/codec study (docs/study.md): the demo recipe with the MSRA codec (Gaussian on the nearest heatmap
# cell, argmax + quarter-cell shift decoding) instead of DARK; nothing else changes.
_base_ = '../krcnn_hrnet_w18_synthetic.py'
model = dict(
    roi_head=dict(
        keypoint_head=dict(codec=dict(_delete_=True, type='MSRAHeatmap', heatmap_size=(64, 48), sigma=2.0))))
