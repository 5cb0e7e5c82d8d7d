"""``benchmark.py roi-align``: the RoIAlign layers a RoI extractor can use (mmcv's ``RoIAlign``,
mmhrkpt's ``TVRoIAlign`` and ``SparseRoIAlign``), timed forward and forward + backward on the same
inputs, with each layer's largest difference from mmcv's.

Shape legend: N RoIs, B images, C channels, S the feature map side.
"""
from collections import OrderedDict

import numpy as np
import torch
from benchmark_utils import format_table, time_calls

ROI_ALIGN_LAYERS = ('RoIAlign', 'TVRoIAlign', 'SparseRoIAlign')


def _roi_align_layer(name, output_size, spatial_scale, sampling_ratio):
    if name == 'RoIAlign':
        from mmcv.ops import RoIAlign
        return RoIAlign(output_size, spatial_scale, sampling_ratio, aligned=True)
    from mmhrkpt.ops import ROI_LAYERS
    return ROI_LAYERS[name](output_size, spatial_scale, sampling_ratio, aligned=True)


def roi_align_inputs(num_rois,
                     num_imgs=4,
                     channels=64,
                     feat_size=64,
                     stride=4,
                     seed=0,
                     channels_last=False,
                     device='cpu'):
    """Features Tensor[B, C, S, S] and RoIs Tensor[N, 5] of 8 to 160 image px (a person at stride 4
    of a 256-px image, the synthetic demo's keypoint RoIs)."""
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(num_imgs, channels, feat_size, feat_size, generator=gen)
    if channels_last:
        feats = feats.contiguous(memory_format=torch.channels_last)
    img_size = feat_size * stride
    wh = 8 + torch.rand(num_rois, 2, generator=gen) * 152
    xy = torch.rand(num_rois, 2, generator=gen) * (img_size - wh)
    idx = torch.randint(0, num_imgs, (num_rois, 1), generator=gen).float()
    return feats.to(device), torch.cat([idx, xy, xy + wh], 1).to(device)


def bench_roi_align(
        num_rois=(128, 512),
        output_sizes=((16, 12), (7, 7)),
        sampling_ratios=(2, 0),
        layers=ROI_ALIGN_LAYERS,
        channels=64,
        feat_size=64,
        device='cpu',
        repeat=5,
        seed=0,
        channels_last=False):
    """Forward and forward+backward milliseconds of each RoIAlign layer on the same inputs, and
    each layer's largest difference from mmcv's ``RoIAlign`` (output and feature gradient).

    One row per (layer, N, output size, sampling ratio); medians of ``repeat`` calls.
    """
    rows = []
    for num in num_rois:
        for output_size in output_sizes:
            for ratio in sampling_ratios:
                feats, rois = roi_align_inputs(
                    num,
                    channels=channels,
                    feat_size=feat_size,
                    seed=seed,
                    channels_last=channels_last,
                    device=device)
                grad_out = None
                results = {}
                for name in layers:
                    layer = _roi_align_layer(name, output_size, 0.25, ratio)
                    # mmcv 1.7's RoIAlign indexes the map as contiguous NCHW (wrong results on a
                    # channels_last map): it gets a contiguous copy
                    src = feats.contiguous() if name == 'RoIAlign' else feats
                    leaf = src.detach().clone().requires_grad_()
                    out = layer(leaf, rois)
                    if grad_out is None:
                        grad_out = torch.randn(
                            out.shape, generator=torch.Generator().manual_seed(seed + 1)).to(device)
                    grad, = torch.autograd.grad(out, leaf, grad_out)
                    results[name] = (out.detach(), grad)

                    def forward(layer=layer, src=src):
                        with torch.no_grad():
                            layer(src, rois)

                    def forward_backward(layer=layer, leaf=leaf):
                        torch.autograd.grad(layer(leaf, rois), leaf, grad_out)

                    fwd = time_calls(forward, repeat, device)
                    both = time_calls(forward_backward, repeat, device)
                    rows.append(
                        OrderedDict(
                            layer=name,
                            num_rois=num,
                            output_size=tuple(output_size),
                            sampling_ratio=ratio,
                            forward_ms=float(np.median(fwd)),
                            forward_backward_ms=float(np.median(both)),
                            forward_ms_all=fwd,
                            forward_backward_ms_all=both))
                ref_out, ref_grad = results.get('RoIAlign', results[layers[0]])
                for row in rows[-len(layers):]:
                    out, grad = results[row['layer']]
                    row['max_output_diff'] = float((out - ref_out).abs().max()) if out.numel() else 0.
                    row['max_grad_diff'] = float((grad - ref_grad).abs().max())
                    row['reference'] = 'RoIAlign' if 'RoIAlign' in results else layers[0]
    return rows


def format_roi_align(rows):
    headers = ('layer', 'N', 'out', 'ratio', 'forward ms', 'fwd+bwd ms', 'max diff out / grad')
    table = [
        (r['layer'], r['num_rois'], 'x'.join(map(str, r['output_size'])), r['sampling_ratio'],
         r['forward_ms'], r['forward_backward_ms'], f"{r['max_output_diff']:.2g} / {r['max_grad_diff']:.2g}")
        for r in rows
    ]
    return (format_table(headers, table) + '\nnote: differences are from ' +
            (rows[0]['reference'] if rows else 'RoIAlign') + ' (mmcv) on the same inputs')
