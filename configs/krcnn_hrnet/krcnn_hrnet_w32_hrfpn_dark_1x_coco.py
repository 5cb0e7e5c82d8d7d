# As the MSRA config, with DARK: unbiased (sub-pixel) Gaussian targets and distribution-aware
# decoding (Gaussian-blurred log-heatmap, one Newton step).
_base_ = './krcnn_hrnet_w32_hrfpn_heatmap_1x_coco.py'
model = dict(
    roi_head=dict(
        keypoint_head=dict(
            codec=dict(
                _delete_=True, type='DarkHeatmap', heatmap_size={{_base_.heatmap_size}}, sigma=2.0,
                kernel=11))))
