"""The codec registry: every codec is built from its config dict with the arguments configs use."""
import pytest
import torch

from mmhrkpt.codecs import CODECS, DarkHeatmap, MSRAHeatmap, OneHotHeatmap, UDPHeatmap, build_codec
from mmhrkpt.codecs.utils import flip_back_heatmaps

CASES = [
    (dict(type='MSRAHeatmap', heatmap_size=(64, 48), sigma=2.0), MSRAHeatmap, True),
    (dict(type='DarkHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11), DarkHeatmap, True),
    (dict(type='UDPHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11), UDPHeatmap, False),
]


@pytest.mark.parametrize('cfg,cls,shift', CASES)
def test_build_and_use(rng, make_rois, make_keypoints, cfg, cls, shift):
    assert CODECS.get(cfg['type']) is cls
    codec = build_codec(cfg)
    assert isinstance(codec, cls)
    assert codec.heatmap_size == (64, 48) and codec.aspect_ratio == 0.75
    assert cls.__name__ in repr(codec)

    direct = cls(**{key: value for key, value in cfg.items() if key != 'type'})
    rois = make_rois(rng, 4)
    keypoints = make_keypoints(rng, rois, 5)
    targets, weights = codec.encode(keypoints, rois)
    expected_targets, expected_weights = direct.encode(keypoints, rois)
    assert torch.equal(targets, expected_targets) and torch.equal(weights, expected_weights)

    heatmaps = torch.rand(4, 5, 64, 48, generator=rng)
    decoded, scores = codec.decode(heatmaps, rois)
    expected_decoded, expected_scores = direct.decode(heatmaps, rois)
    assert torch.equal(decoded, expected_decoded) and torch.equal(scores, expected_scores)

    flipped = codec.flip_back(heatmaps, [(1, 2)])
    assert torch.equal(flipped, flip_back_heatmaps(heatmaps, [(1, 2)], shift=shift))

    with pytest.raises(ValueError):
        codec.decode(torch.rand(4, 5, 32, 24), rois)


def test_non_default_size():
    codec = build_codec(dict(type='UDPHeatmap', heatmap_size=(32, 32), sigma=1.0))
    assert codec.heatmap_size == (32, 32) and codec.aspect_ratio == 1.0 and codec.sigma == 1.0
    targets, weights = codec.encode(torch.zeros(0, 17, 3), torch.zeros(0, 4))
    assert targets.shape == (0, 17, 32, 32) and weights.shape == (0, 17)


def test_onehot_builds():
    codec = build_codec(dict(type='OneHotHeatmap', heatmap_size=(56, 56)))
    assert isinstance(codec, OneHotHeatmap) and codec.heatmap_size == (56, 56)


def test_unknown_codec_raises():
    with pytest.raises(KeyError, match='MegviiHeatmap'):
        build_codec(dict(type='MegviiHeatmap'))
    with pytest.raises(TypeError):
        build_codec(dict(type='MSRAHeatmap', kernel=11))  # MSRA has no blur
