"""tools/deployment/pytorch2onnx.py, ONNXKeypointDetector and the demo's onnxruntime backend, on the tiny
model of tests/data/tiny_krcnn.py briefly trained on generated people.

A random-init keypoint head predicts noise, on which DARK / UDP's Newton step is ill-conditioned and
any two runtimes disagree; 32 iterations teach it smooth peaks. Its heatmap weights serve the MSRA,
DARK and UDP codecs alike (same head, same heatmap size); the one-hot head, which only takes an argmax,
is compared at random init.
"""
import glob
import os
import subprocess
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch

from mmhrkpt.testing.synthetic import generate_synthetic_coco

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'tests' / 'data' / 'tiny_krcnn.py'
IMG_SIZE = 128
# 8 images of 128 px, 2 per batch, 8 epochs: 32 iterations. Every positive keypoint score counts in the
# rescoring, so that the barely trained model's low keypoint scores make instance scores that are not 0.
TRAIN_CONFIG = """
_base_ = '{base}'
data = dict(samples_per_gpu=2, workers_per_gpu=0)
runner = dict(max_epochs=8)
lr_config = dict(warmup_iters=4, step=[28 / 32])  # the LR steps at iteration 28 of 32
checkpoint_config = dict(interval=8)
log_config = dict(interval=8)
custom_hooks = []
model = dict(test_cfg=dict(rcnn=dict(keypoint=dict(score_thr=0.0))))
"""
CODEC_CONFIG = """
_base_ = '{base}'
model = dict(roi_head=dict(keypoint_head=dict(codec=dict(_delete_=True, {codec}))))
"""
ONEHOT_CONFIG = """
_base_ = '{base}'
model = dict(roi_head=dict(
    keypoint_roi_expand=dict(padding=1.0),
    keypoint_roi_extractor=dict(roi_layer=dict(output_size=(14, 14))),
    keypoint_head=dict(_delete_=True, type='OneHotKeypointHead', in_channels=16, roi_feat_size=(14, 14),
                       num_convs=1, conv_out_channels=16)),
    test_cfg=dict(rcnn=dict(keypoint=dict(rescore=False))))
"""
CODECS = dict(
    msra="type='MSRAHeatmap', heatmap_size=(64, 48), sigma=2.0",
    dark="type='DarkHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11",
    udp="type='UDPHeatmap', heatmap_size=(64, 48), sigma=2.0, kernel=11")


def _options(data):
    options = [
        f'data.{split}.ann_file={data}/annotations/person_keypoints_{name}.json'
        for split, name in (('train', 'train'), ('val', 'val'), ('test', 'val'))
    ]
    options += [
        f'data.{split}.img_prefix={data}/images/{name}/'
        for split, name in (('train', 'train'), ('val', 'val'), ('test', 'val'))
    ]
    # 128 px images at their own size (the synthetic config resizes to 256)
    return options + [
        f'data.train.pipeline.2.img_scale=({IMG_SIZE},{IMG_SIZE})',
        f'data.test.pipeline.1.img_scale=({IMG_SIZE},{IMG_SIZE})'
    ]


def _run(args, cwd, check=True):
    proc = subprocess.run(
        [sys.executable] + [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, PYTHONUNBUFFERED='1'))
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('onnx')
    generate_synthetic_coco(
        root / 'data',
        num_train=8,
        num_val=2,
        seed=3,
        image_size=(IMG_SIZE, IMG_SIZE),
        min_keypoint_area=0,
        preview=False,
        progress=False)
    config = root / 'train_config.py'
    config.write_text(TRAIN_CONFIG.format(base=TINY))
    options = _options(root / 'data')
    _run(
        [
            ROOT / 'tools' / 'train.py', config, '--work-dir', root / 'work', '--seed', '0', '--no-validate',
            '--cfg-options'
        ] + options,
        cwd=root)
    images = sorted(glob.glob(str(root / 'data' / 'images' / 'val' / '*.jpg')))
    return dict(
        root=root,
        config=config,
        checkpoint=root / 'work' / 'latest.pth',
        images=images,
        options=dict(o.split('=', 1) for o in options))


def _model(config, checkpoint, options, **overrides):
    from mmhrkpt.apis import init_model
    opts = {k: eval(v) if k.endswith('img_scale') else v for k, v in options.items()}
    return init_model(str(config), str(checkpoint), cfg_options=dict(opts, **overrides))


def _export(model, path, example, dynamic=False):
    from mmhrkpt.deployment import export_onnx, model_meta
    from mmhrkpt.deployment.onnx_detector import create_session
    meta = model_meta(model.cfg, model)
    export_onnx(
        model, str(path), torch.from_numpy(example), meta, dynamic=dynamic, flip_pairs=meta['flip_pairs'])
    return create_session(str(path)), meta


def _compare(model, session, meta, inputs, img_shape=None):
    from mmhrkpt.deployment import compare_outputs, onnx_outputs, pytorch_outputs
    reference = pytorch_outputs(model, torch.from_numpy(inputs), img_shape, meta['flip_pairs'])
    outputs = onnx_outputs(session, inputs, img_shape)
    return compare_outputs(reference, outputs, max(inputs.shape[2:])), reference, outputs


def model_meta_of(model):
    from mmhrkpt.deployment import model_meta
    return model_meta(model.cfg, model)


def _inputs(meta, image, shape=None):
    from mmhrkpt.deployment.onnx_detector import preprocess
    return preprocess(mmcv.imread(image), meta, shape)[:2]


def _assert_matches(result, reference):
    """Same N and labels, boxes and keypoints within 1e-3 of the image size, scores within 1e-4."""
    assert result['ok'], result
    assert result['num_reference'] > 0 and result['num_outputs'] == result['num_reference']
    assert result['box'] <= 1e-3 * IMG_SIZE and result['keypoint'] <= 1e-3 * IMG_SIZE
    assert result['score'] <= 1e-4 and result['keypoint_score'] <= 1e-4
    # Most keypoints are held to the tolerance, so that the comparison is not vacuous. How many of the
    # barely trained model's keypoints PyTorch's own DARK / UDP step throws outside their RoI depends
    # on its 32 iterations of training, whose floating-point sums differ between CPU kinds (a few
    # percent for UDP, CHANGELOG.md); those are not export errors.
    assert result['num_unconditioned'] <= 0.05 * result['num_keypoints'], result


@pytest.mark.parametrize('codec', sorted(CODECS))
def test_heatmap_codecs_match_pytorch(trained, codec, tmp_path):
    config = tmp_path / f'{codec}.py'
    config.write_text(CODEC_CONFIG.format(base=trained['config'], codec=CODECS[codec]))
    model = _model(config, trained['checkpoint'], trained['options'])
    example, _ = _inputs(model_meta_of(model), trained['images'][0])
    session, meta = _export(model, tmp_path / f'{codec}.onnx', example)
    for image in trained['images']:
        inputs, img_shape = _inputs(meta, image)
        result, reference, _ = _compare(model, session, meta, inputs, img_shape)
        _assert_matches(result, reference)
        assert (reference['dets'][:, 4] > 0).any()  # rescored instance scores, not all 0


def test_onehot_head_matches_pytorch(trained, tmp_path):
    from mmcv.runner import save_checkpoint
    from mmdet.models import build_detector
    config = tmp_path / 'onehot.py'
    config.write_text(ONEHOT_CONFIG.format(base=trained['config']))
    torch.manual_seed(0)
    built = build_detector(mmcv.Config.fromfile(str(config)).model)
    built.init_weights()
    save_checkpoint(built, str(tmp_path / 'onehot.pth'), meta=dict(CLASSES=('person', )))
    model = _model(config, tmp_path / 'onehot.pth', trained['options'])
    example, _ = _inputs(model_meta_of(model), trained['images'][0])
    session, meta = _export(model, tmp_path / 'onehot.onnx', example)
    inputs, img_shape = _inputs(meta, trained['images'][1])
    result, reference, _ = _compare(model, session, meta, inputs, img_shape)
    _assert_matches(result, reference)
    assert result['num_unconditioned'] == 0  # one-hot keypoints are cell centres inside the RoI


def test_dynamic_export_at_two_sizes_and_flip_test(trained, tmp_path):
    model = _model(trained['config'], trained['checkpoint'], trained['options'],
                   **{'model.test_cfg.rcnn.keypoint.flip_test': True})
    meta = model_meta_of(model)
    assert meta['flip_test']
    example, _ = _inputs(meta, trained['images'][0])
    session, meta = _export(model, tmp_path / 'dynamic.onnx', example, dynamic=True)
    for shape, img_shape in (((IMG_SIZE, IMG_SIZE), (IMG_SIZE, 100)), ((96, 160), None)):
        image = mmcv.imresize(mmcv.imread(trained['images'][1]), shape[::-1])
        inputs, _ = _inputs(dict(meta, keep_ratio=False, test_scale=shape[::-1]), image)
        assert inputs.shape == (1, 3) + shape
        result, reference, _ = _compare(model, session, meta, inputs, img_shape)
        _assert_matches(result, reference)
        if img_shape is not None:  # boxes are clipped to the image inside the input
            assert reference['dets'][:, 2].max() <= img_shape[1]


def test_an_input_without_detections(trained, tmp_path):
    """One graph, two inputs, N > 0 on one and N = 0 on the other: the box score threshold is set
    between the model's best box scores on the inputs (the val images and a blank image)."""
    blank = str(tmp_path / 'blank.png')
    mmcv.imwrite(np.full((IMG_SIZE, IMG_SIZE, 3), 128, np.uint8), blank)
    probe = _model(trained['config'], trained['checkpoint'], trained['options'],
                   **{'model.test_cfg.rcnn.keypoint.rescore': False})
    meta = model_meta_of(probe)
    from mmhrkpt.deployment import pytorch_outputs

    def best_box_score(image):
        return float(pytorch_outputs(probe, torch.from_numpy(_inputs(meta, image)[0]))['dets'][:, 4].max())

    best = sorted((best_box_score(image), image) for image in trained['images'] + [blank])
    (low, nothing), (high, something) = best[0], best[-1]
    assert high - low > 1e-3, best
    model = _model(trained['config'], trained['checkpoint'], trained['options'],
                   **{'model.test_cfg.rcnn.score_thr': (low + high) / 2})
    session, meta = _export(model, tmp_path / 'thr.onnx', _inputs(meta, something)[0])
    result, reference, _ = _compare(model, session, meta, *_inputs(meta, something))
    _assert_matches(result, reference)
    result, _, outputs = _compare(model, session, meta, *_inputs(meta, nothing))
    assert result['ok'] and result['num_reference'] == result['num_outputs'] == 0
    assert outputs['dets'].shape == (0, 5) and outputs['labels'].shape == (0, )
    assert outputs['keypoints'].shape == (0, 17, 3)


def test_tool_verifies_and_writes_standard_onnx_with_metadata(trained, tmp_path):
    import onnx
    out = tmp_path / 'tool.onnx'
    options = [f'{k}={v}' for k, v in trained['options'].items()]
    proc = _run(
        [
            ROOT / 'tools' / 'deployment' / 'pytorch2onnx.py', trained['config'], trained['checkpoint'],
            '--output-file', out, '--shape', IMG_SIZE, IMG_SIZE, '--input-img', trained['images'][0],
            '--verify', '--cfg-options'
        ] + options,
        cwd=tmp_path)
    assert 'PASS' in proc.stdout and 'flip test: off in the config' in proc.stdout
    model = onnx.load(str(out))
    assert [i.name for i in model.graph.input] == ['input', 'img_shape']
    assert [o.name for o in model.graph.output] == ['dets', 'labels', 'keypoints']
    ops = {n.op_type for n in model.graph.node}
    assert {'RoiAlign', 'NonMaxSuppression'} <= ops
    assert {n.domain for n in model.graph.node} <= {''}  # standard operators only
    props = {p.key: p.value for p in model.metadata_props}
    for key in ('keypoint_names', 'skeleton', 'flip_pairs', 'num_keypoints', 'mean', 'std', 'to_rgb',
                'size_divisor', 'test_scale'):
        assert key in props, key
    assert props['test_scale'] == f'[{IMG_SIZE}, {IMG_SIZE}]'

    # a bad input fails with the reason, not a traceback
    proc = _run(
        [
            ROOT / 'tools' / 'deployment' / 'pytorch2onnx.py', trained['config'], trained['checkpoint'],
            '--output-file', out, '--shape', 100, 100, '--cfg-options'
        ] + options,
        cwd=tmp_path,
        check=False)
    assert proc.returncode != 0 and 'size_divisor 32' in proc.stderr


def test_detector_and_demo_match_the_pytorch_backend(trained, tmp_path):
    from mmhrkpt.apis import inference_model
    from mmhrkpt.deployment import ONNXKeypointDetector
    from mmhrkpt.deployment.onnx_export import keypoint_regions
    model = _model(trained['config'], trained['checkpoint'], trained['options'])
    example, _ = _inputs(model_meta_of(model), trained['images'][0])
    _export(model, tmp_path / 'det.onnx', example, dynamic=True)
    detector = ONNXKeypointDetector(str(tmp_path / 'det.onnx'))
    for image in trained['images']:
        expected, result = inference_model(model, image), detector(mmcv.imread(image))
        assert set(result) == set(expected)
        assert len(result['scores']) == len(expected['scores']) > 0
        np.testing.assert_array_equal(result['labels'], expected['labels'])
        np.testing.assert_allclose(result['bboxes'], expected['bboxes'], rtol=0, atol=1e-3 * IMG_SIZE)
        np.testing.assert_allclose(result['scores'], expected['scores'], rtol=0, atol=1e-4)
        np.testing.assert_allclose(result['keypoints'][..., 2], expected['keypoints'][..., 2], atol=1e-4)
        # keypoints where refinement is well-conditioned (compare_outputs' rule); the scale is 1
        region = keypoint_regions(model.roi_head, expected['bboxes'])[:, None]
        xy = expected['keypoints'][..., :2]
        inside = np.all((xy >= region[..., :2]) & (xy <= region[..., 2:]), axis=-1)
        assert inside.mean() > 0.99
        np.testing.assert_allclose(
            result['keypoints'][inside][:, :2],
            expected['keypoints'][inside][:, :2],
            rtol=0,
            atol=1e-3 * IMG_SIZE)

    demo = ROOT / 'demo' / 'image_demo.py'
    onnx_out = _run([
        demo, trained['images'][0], tmp_path / 'det.onnx', '--backend', 'onnxruntime', '--out-file',
        tmp_path / 'onnx.png', '--score-thr', 0
    ],
                    cwd=tmp_path).stdout
    config = tmp_path / 'demo_config.py'  # the demo takes no --cfg-options: the options written in
    cfg = mmcv.Config.fromfile(str(trained['config']))
    cfg.merge_from_dict({k: eval(v) if k.endswith('img_scale') else v for k, v in trained['options'].items()})
    cfg.dump(str(config))
    torch_out = _run([
        demo, trained['images'][0], config, trained['checkpoint'], '--out-file', tmp_path / 'torch.png',
        '--score-thr', 0
    ],
                     cwd=tmp_path).stdout
    persons = [out.strip().splitlines()[-1].split(' persons')[0] for out in (onnx_out, torch_out)]
    assert persons[0] == persons[1] and int(persons[0]) > 0
    assert (tmp_path / 'onnx.png').stat().st_size > 1000
