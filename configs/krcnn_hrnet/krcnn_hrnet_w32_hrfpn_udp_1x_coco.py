# As the MSRA config, with UDP: unbiased data processing ((W - 1) / w pixel mapping, sub-pixel
# targets) and its DARK-style refinement; flip test needs no heatmap shift.
_base_ = './krcnn_hrnet_w32_hrfpn_heatmap_1x_coco.py'
model = dict(
    roi_head=dict(
        keypoint_head=dict(
            codec=dict(
                _delete_=True, type='UDPHeatmap', heatmap_size={{_base_.heatmap_size}}, sigma=2.0,
                kernel=11))))
