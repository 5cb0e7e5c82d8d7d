# Head/codec study (docs/study.md): the demo recipe with the UDP codec (RoI edges on the first/last cell
# centres, unbiased sub-cell targets, DARK-UDP decoding) instead of DARK; nothing else changes.
_base_ = '../krcnn_hrnet_w18_synthetic.py'
model = dict(
    roi_head=dict(
        keypoint_head=dict(
            codec=dict(_delete_=True, type='UDPHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11))))
