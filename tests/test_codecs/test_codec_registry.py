"""The registered codec classes: built from config dicts, thin wrappers of the functions."""
import pytest
import torch

from mmhrkpt.codecs import (CODECS, DarkHeatmap, MSRAHeatmap, UDPHeatmap, build_codec, decode_heatmaps,
                            encode_heatmaps, flip_back_heatmaps)

CASES = [
    (dict(type='MSRAHeatmap', heatmap_size=(64, 48), sigma=2.0), MSRAHeatmap, 'msra', True),
    (dict(type='DarkHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11), DarkHeatmap, 'dark', True),
    (dict(type='UDPHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11), UDPHeatmap, 'udp', False),
]


@pytest.mark.parametrize('cfg,cls,method,shift', CASES)
def test_build_and_use(rng, make_rois, make_keypoints, cfg, cls, method, shift):
    assert CODECS.get(cfg['type']) is cls
    codec = build_codec(cfg)
    assert isinstance(codec, cls)
    assert codec.heatmap_size == (64, 48) and codec.aspect_ratio == 0.75
    assert cls.__name__ in repr(codec)

    rois = make_rois(rng, 4)
    keypoints = make_keypoints(rng, rois, 5)
    targets, weights = codec.encode(keypoints, rois)
    expected_targets, expected_weights = encode_heatmaps(keypoints, rois, (64, 48), 2.0, method)
    assert torch.equal(targets, expected_targets) and torch.equal(weights, expected_weights)

    heatmaps = torch.rand(4, 5, 64, 48, generator=rng)
    decoded, scores = codec.decode(heatmaps, rois)
    expected_decoded, expected_scores = decode_heatmaps(heatmaps, rois, method)
    assert torch.equal(decoded, expected_decoded) and torch.equal(scores, expected_scores)

    flipped = codec.flip_back(heatmaps, [(1, 2)])
    assert torch.equal(flipped, flip_back_heatmaps(heatmaps, [(1, 2)], shift=shift))

    with pytest.raises(ValueError):
        codec.decode(torch.rand(4, 5, 32, 24), rois)


def test_kernel_reaches_decoding(rng, make_rois):
    rois = make_rois(rng, 4)
    heatmaps = torch.rand(4, 5, 64, 48, generator=rng)
    codec = build_codec(dict(type='DarkHeatmap', kernel=17))
    assert codec.kernel == 17
    assert torch.equal(codec.decode(heatmaps, rois)[0], decode_heatmaps(heatmaps, rois, 'dark', 17)[0])
    assert not torch.equal(codec.decode(heatmaps, rois)[0], decode_heatmaps(heatmaps, rois, 'dark', 11)[0])
    with pytest.raises(ValueError):
        DarkHeatmap(kernel=4)


def test_non_default_size():
    codec = build_codec(dict(type='UDPHeatmap', heatmap_size=(32, 32), sigma=1.0))
    assert codec.heatmap_size == (32, 32) and codec.aspect_ratio == 1.0 and codec.sigma == 1.0
    targets, weights = codec.encode(torch.zeros(0, 17, 3), torch.zeros(0, 4))
    assert targets.shape == (0, 17, 32, 32) and weights.shape == (0, 17)
