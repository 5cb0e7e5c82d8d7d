"""cpu_bf16: the network's parts under bfloat16 autocast in training, losses/targets/decoding float32.

Autocast to bfloat16 runs on any CPU (emulated where it is not native), so these tests do not need
one with native bfloat16; only :func:`enable_cpu_bf16` asks the CPU.
"""
import logging
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv import Config
from mmcv.utils import get_logger
from mmdet.models import build_detector

from mmhrkpt.engine import cpu_bf16 as cpu_bf16_module
from mmhrkpt.engine.cpu_bf16 import BF16_PARTS, CPUBF16Autocast, enable_cpu_bf16, to_float32
from mmhrkpt.utils import cpu_info

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'tests' / 'data' / 'tiny_krcnn.py'


def _model():
    get_logger('mmcv').setLevel(logging.WARNING)
    torch.manual_seed(0)
    model = build_detector(Config.fromfile(str(TINY)).model)
    model.init_weights()
    return model


def _batch(size=128):
    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, size, size, generator=g)
    meta = dict(
        img_shape=(size, size, 3),
        ori_shape=(size, size, 3),
        pad_shape=(size, size, 3),
        scale_factor=np.ones(4, dtype=np.float32),
        flip=False,
        batch_input_shape=(size, size))
    boxes = torch.tensor([[10., 8., 60., 110.], [60., 20., 120., 120.]])
    kpts = torch.rand(2, 17, 3, generator=g)
    kpts[..., :2] = boxes[:, None, :2] + kpts[..., :2] * (boxes[:, None, 2:] - boxes[:, None, :2])
    kpts[..., 2] = 2.0
    return dict(
        img=img,
        img_metas=[meta] * 2,
        gt_bboxes=[boxes] * 2,
        gt_labels=[torch.zeros(2, dtype=torch.long)] * 2,
        gt_keypoints=[kpts] * 2)


def _losses(model, batch):
    torch.manual_seed(1)  # the samplers draw random RoIs
    return model.forward_train(**batch)


def _record_dtypes(model, names):
    """{name: dtype of its output} of the sub-modules ``names`` at the next forward."""
    seen, handles = {}, []
    for name in names:

        def hook(module, args, out, name=name):
            seen[name] = out.dtype

        handles.append(model.get_submodule(name).register_forward_hook(hook))
    return seen, handles


def test_to_float32_casts_low_precision_tensors_in_nested_outputs():
    Pair = namedtuple('Pair', 'a b')
    out = to_float32(
        dict(
            x=[torch.ones(2, dtype=torch.bfloat16), (torch.ones(1, dtype=torch.half), 3)],
            y=Pair(torch.ones(1, dtype=torch.float64), torch.ones(1, dtype=torch.long))))
    assert out['x'][0].dtype == torch.float32 and out['x'][1][0].dtype == torch.float32
    assert out['x'][1][1] == 3
    assert isinstance(out['y'], Pair) and out['y'].a.dtype == torch.float64
    assert out['y'].b.dtype == torch.long


def test_training_step_under_bf16_is_finite_float32_and_close_to_float32():
    model = _model()
    model.train()
    batch = _batch()
    ref = _losses(model, batch)
    hooks = CPUBF16Autocast(model)
    assert hooks.parts == list(BF16_PARTS)
    inner, handles = _record_dtypes(model, [
        'backbone.conv1', 'neck.reduction_conv.conv', 'rpn_head.rpn_conv', 'roi_head.bbox_head.shared_fcs.0',
        'roi_head.keypoint_head.conv_logits'
    ])
    outer, outer_handles = _record_dtypes(model,
                                          ['roi_head.bbox_roi_extractor', 'roi_head.keypoint_roi_extractor'])
    feats = {}
    outer_handles.append(
        model.roi_head.keypoint_roi_extractor.register_forward_pre_hook(
            lambda module, args: feats.update(dtypes={f.dtype
                                                      for f in args[0]})))
    losses = _losses(model, batch)
    # the layers inside the parts compute in bfloat16...
    assert set(inner.values()) == {torch.bfloat16}, inner
    # ... and the features leave the neck, and the RoI extractors pool them, in float32
    assert feats['dtypes'] == {torch.float32}
    assert set(outer.values()) == {torch.float32}, outer
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_keypoint'):
        value, expected = sum(losses[key]) if isinstance(losses[key], list) else losses[key], \
            sum(ref[key]) if isinstance(ref[key], list) else ref[key]
        assert value.dtype == torch.float32 and torch.isfinite(value), key
        assert float(value.detach()) == pytest.approx(float(expected.detach()), rel=0.02, abs=1e-4), key
    loss, _ = model._parse_losses(losses)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)
    for h in handles + outer_handles:
        h.remove()
    hooks.remove()


def test_heatmap_loss_sees_float32_heatmaps_and_targets():
    model = _model()
    model.train()
    CPUBF16Autocast(model)
    seen = {}
    loss_fn = model.roi_head.keypoint_head.loss_keypoint
    original = loss_fn.forward

    def spy(pred, target, weight):
        seen.update(pred=pred.dtype, target=target.dtype, weight=weight.dtype)
        return original(pred, target, weight)

    loss_fn.forward = spy
    losses = _losses(model, _batch())
    assert seen == dict(pred=torch.float32, target=torch.float32, weight=torch.float32)
    assert losses['loss_keypoint'].dtype == torch.float32


def test_keypoint_branch_gives_float32_heatmaps_inside_an_autocast_region():
    """Whatever autocast surrounds it, the keypoint branch (SparseRoIAlign, head) hands float32
    heatmaps to the loss and the decoder."""
    model = _model()
    model.train()
    g = torch.Generator().manual_seed(0)
    feats = tuple(torch.randn(2, 16, 32 // 2**i, 32 // 2**i, generator=g) for i in range(5))
    rois = torch.tensor([[0, 10., 8., 60., 110.], [1, 60., 20., 120., 120.]])
    ref = model.roi_head._keypoint_forward(feats, rois)
    seen, handles = _record_dtypes(model, ['roi_head.keypoint_head.conv_logits'])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        heatmaps = model.roi_head._keypoint_forward(feats, rois)
    assert seen['roi_head.keypoint_head.conv_logits'] == torch.bfloat16
    assert heatmaps.dtype == torch.float32
    torch.testing.assert_close(heatmaps, ref, rtol=0.05, atol=0.05 * float(ref.abs().max()))
    for h in handles:
        h.remove()


def test_inference_stays_float32_and_identical():
    model = _model()
    model.eval()
    batch = _batch()
    with torch.no_grad():
        ref = model.simple_test(batch['img'], batch['img_metas'], rescale=True)
        hooks = CPUBF16Autocast(model)
        seen, handles = _record_dtypes(model, ['backbone.conv1'])
        out = model.simple_test(batch['img'], batch['img_metas'], rescale=True)
    assert seen == {'backbone.conv1': torch.float32}
    for (b_ref, k_ref), (b, k) in zip(ref, out):
        np.testing.assert_array_equal(b_ref[0], b[0])
        np.testing.assert_array_equal(k_ref[0], k[0])
    for h in handles:
        h.remove()
    hooks.remove()


def test_remove_restores_float32_training():
    model = _model()
    model.train()
    batch = _batch()
    ref = _losses(model, batch)['loss_keypoint']
    CPUBF16Autocast(model).remove()
    assert float(_losses(model, batch)['loss_keypoint']) == float(ref)


def test_autocast_is_left_when_a_part_raises():
    model = _model()
    model.train()
    hooks = CPUBF16Autocast(model)
    with pytest.raises(RuntimeError):
        model.backbone(torch.randn(1, 5, 32, 32))  # 5 channels: the first conv refuses
    assert not torch.is_autocast_enabled('cpu')
    hooks.remove()


def test_a_model_without_the_parts_is_refused():
    with pytest.raises(ValueError, match='none of the parts'):
        CPUBF16Autocast(torch.nn.Linear(2, 2))


def test_enable_refuses_without_native_bf16_or_off_cpu(monkeypatch, caplog):
    logger = logging.getLogger('test_cpu_bf16')
    model = _model()
    monkeypatch.setattr(cpu_bf16_module, 'cpu_bf16_support', lambda: (False, 'no avx512_bf16 here'))
    with caplog.at_level(logging.WARNING, logger='test_cpu_bf16'):
        assert enable_cpu_bf16(model, 'cpu', logger) is None
        assert enable_cpu_bf16(model, 'cuda', logger) is None
    text = caplog.text
    assert 'cpu_bf16=True refused, training in float32: no avx512_bf16 here' in text
    assert 'ignored on cuda' in text
    monkeypatch.setattr(cpu_bf16_module, 'cpu_bf16_support', lambda: (True, 'avx512_bf16'))
    hooks = enable_cpu_bf16(model, 'cpu', logger)
    assert isinstance(hooks, CPUBF16Autocast) and hooks.parts == list(BF16_PARTS)
    hooks.remove()


@pytest.mark.parametrize('flags, expected', [
    ('fpu avx512f avx512_bf16 sse', True),
    ('fpu avx512f amx_bf16 amx_tile', True),
    ('fpu avx512f avx2', False),
])
def test_cpu_bf16_support_reads_the_cpu_flags(tmp_path, flags, expected):
    path = tmp_path / f'cpuinfo_{len(flags)}'
    path.write_text(f'processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: {flags}\n\n'
                    'processor\t: 1\nmodel name\t: other\nflags\t\t: avx512_bf16\n')
    supported, reason = cpu_info.cpu_bf16_support(str(path))
    assert cpu_info.cpu_model_name(str(path)) == 'Test CPU 9000'
    assert supported is expected and 'Test CPU 9000' in reason
    if not expected:
        assert 'neither avx512_bf16 nor amx_bf16' in reason
