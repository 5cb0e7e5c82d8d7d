"""tools/analysis_tools/benchmark.py as a user runs it: every subcommand writes its JSON, figures are
sane, and the codec comparison agrees with mmpose. No figure is compared with a time: the benchmark
measures, it does not assert (docs/benchmarks.md)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmhrkpt.testing.synthetic import generate_synthetic_coco

ROOT = Path(__file__).resolve().parents[2]
TOOL = str(ROOT / 'tools' / 'analysis_tools' / 'benchmark.py')

# The tiny model the tool tests share.
TINY_CONFIG = ROOT / 'tests' / 'data' / 'tiny_krcnn.py'
MACHINE_KEYS = {
    'date', 'cpu_model', 'cpu_cores', 'torch', 'torch_threads', 'device', 'device_name', 'load_average',
    'load_average_end'
}


@pytest.fixture(scope='module')
def tiny_config():
    return str(TINY_CONFIG)


def run_benchmark(args, out):
    """Run the tool, return (its JSON, its stdout)."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.run(
        [sys.executable, TOOL] + args + ['--json', str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    payload = json.loads(Path(out).read_text())
    assert MACHINE_KEYS <= set(payload['machine'])
    assert payload['machine']['cpu_cores'] >= 1 and payload['machine']['device'] == 'cpu'
    return payload, proc.stdout


def positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_codec_matches_mmpose_and_reports_speedups(tmp_path):
    payload, stdout = run_benchmark(['codec', '--num-rois', '8', '--repeat', '1', '--device', 'cpu'],
                                    tmp_path / 'codec.json')
    assert payload['command'] == 'codec'
    rows = payload['results']
    assert {(r['operation'], r['method'])
            for r in rows} == {(op, m)
                               for op in ('encode', 'decode')
                               for m in ('msra', 'dark', 'udp')}
    for row in rows:
        assert row['num_rois'] == 8
        assert positive(row['ours_ms']) and positive(row['mmpose_ms']) and positive(row['speedup'])
        if row['operation'] == 'decode':
            assert row['disagreement_unit'] == 'image px'
            assert row['max_disagreement'] < 0.01, row
            assert row['max_score_diff'] < 1e-5, row
        else:
            assert row['max_disagreement'] < 1e-4, row
            assert row['weight_mismatches'] == 0, row
    assert 'speed-up' in stdout and 'mmpose ms' in stdout


def test_roi_align_layers_agree_and_are_timed(tmp_path):
    payload, stdout = run_benchmark([
        'roi-align', '--num-rois', '6', '--repeat', '1', '--channels', '4', '--feat-size', '16',
        '--channels-last', '--device', 'cpu'
    ], tmp_path / 'roi_align.json')
    rows = payload['results']
    assert {r['layer'] for r in rows} == {'RoIAlign', 'TVRoIAlign', 'SparseRoIAlign'}
    assert {(tuple(r['output_size']), r['sampling_ratio'])
            for r in rows} == {((16, 12), 2), ((16, 12), 0), ((7, 7), 2), ((7, 7), 0)}
    for row in rows:
        assert row['num_rois'] == 6 and row['reference'] == 'RoIAlign'
        assert positive(row['forward_ms']) and positive(row['forward_backward_ms'])
        assert row['max_output_diff'] < 1e-5 and row['max_grad_diff'] < 1e-5, row
    assert 'fwd+bwd ms' in stdout


def test_train_reports_throughput_and_memory(tiny_config, tmp_path):
    payload, stdout = run_benchmark([
        'train', tiny_config, '--img-size', '128', '--batch', '2', '--iters', '2', '--warmup', '0',
        '--device', 'cpu', '--fp16'
    ], tmp_path / 'train.json')
    result = payload['results']
    assert result['fp16'] is False and 'not supported on CPU' in ' '.join(result['notes'])
    ours = result['ours']
    assert positive(ours['images_per_s']) and positive(ours['iter_ms_median'])
    assert len(ours['iter_ms_all']) == 2
    assert ours['memory']['kind'] == 'cpu_peak_rss' and positive(ours['memory']['peak_mb'])
    assert ours['loss_finite'] and ours['trainable_params'] > 0
    assert 'images/s' in stdout


def test_train_vs_torchvision_reports_the_ratio(tiny_config, tmp_path):
    payload, stdout = run_benchmark([
        'train', tiny_config, '--img-size', '64', '--batch', '1', '--iters', '1', '--warmup', '0', '--device',
        'cpu', '--vs-torchvision'
    ], tmp_path / 'train_tv.json')
    result = payload['results']
    assert result['torchvision_variant'] == 'finetune'
    assert positive(result['torchvision']['images_per_s']) and result['torchvision']['loss_finite']
    assert positive(result['ratio_ours_over_torchvision'])
    assert result['differences'] and 'differences that remain vs torchvision' in stdout


def test_infer_forces_detections(tiny_config, tmp_path):
    payload, _ = run_benchmark(
        ['infer', tiny_config, '--img-size', '128', '--iters', '2', '--warmup', '0', '--device', 'cpu'],
        tmp_path / 'infer.json')
    ours = payload['results']['ours']
    assert positive(ours['latency_ms_median']) and positive(ours['images_per_s'])
    assert ours['latency_ms_p90'] >= ours['latency_ms_median']
    # score_thr=0 lets the random-init box head's detections through to the keypoint branch
    assert ours['detections_per_image'] > 0


def test_onnx_times_both_runtimes_on_the_same_inputs(tiny_config, tmp_path):
    payload, stdout = run_benchmark(
        ['onnx', tiny_config, '--img-size', '128', '--iters', '2', '--warmup', '0', '--device', 'cpu'],
        tmp_path / 'onnx.json')
    result = payload['results']
    for runtime in ('pytorch', 'onnxruntime'):
        assert positive(result[runtime]['latency_ms_median']) and len(result[runtime]['latency_ms_all']) == 2
        assert result[runtime]['detections_per_image'] > 0
    assert positive(result['ratio_onnxruntime_over_pytorch']) and positive(result['onnx_mb'])
    agreement = result['agreement']
    assert agreement['num_outputs'] == agreement['num_reference'] > 0 and agreement['box'] < 0.128
    assert 'ratio onnxruntime / PyTorch' in stdout


def test_profile_parts_add_up_and_time_data_loading(tiny_config, tmp_path):
    data = tmp_path / 'data'
    generate_synthetic_coco(
        data,
        num_train=2,
        num_val=1,
        seed=0,
        image_size=(96, 96),
        min_keypoint_area=0,
        preview=False,
        progress=False)
    payload, stdout = run_benchmark([
        'profile', tiny_config, '--img-size', '128', '--iters', '1', '--warmup', '0', '--device', 'cpu',
        '--data-root',
        str(data)
    ], tmp_path / 'profile.json')
    result = payload['results']
    ours = result['ours']
    parts = ours['parts_ms']
    for part in ('backbone', 'neck', 'rpn', 'box head', 'keypoint head', 'codecs (target encoding)', 'loss',
                 'backward', 'optimizer step'):
        assert positive(parts[part]), part
    assert sum(parts.values()) == pytest.approx(ours['parts_sum_ms'])
    assert positive(ours['iteration_ms_median'])
    assert ours['counts']['keypoint RoIs per batch'] > 0
    assert positive(result['data_loading']['batch_ms_median'])
    assert 'data loading' in stdout


def test_data_loads_and_evaluates_a_generated_coco_json(tmp_path):
    """The ``data`` mode at a tiny size: the generated file has COCO's structure, both loads and the
    evaluation report their parts (no figure is compared with a time)."""
    work = tmp_path / 'generated'
    payload, stdout = run_benchmark([
        'data', '--num-images', '30', '--num-persons', '90', '--eval-images', '10', '--eval-persons', '25',
        '--dets-per-image', '4', '--work-dir',
        str(work)
    ], tmp_path / 'data.json')
    result = payload['results']
    assert result['train_json']['num_images'] == 30 and result['train_json']['num_persons'] == 90
    load = result['load']
    for key in ('pycocotools_s', 'dataset_s', 'ratio'):
        assert positive(load[key]), key
    assert {'pycocotools_retained_mb', 'dataset_retained_mb', 'dataset_beyond_pycocotools_mb'} <= set(load)
    assert 0 < load['images'] <= 30 and 0 < load['persons'] <= 90
    ev = result['eval']
    assert ev['images'] == 10 and ev['detections'] == 40
    parts = [ev[f'{name}_s'] for name in ('cocoeval', 'load_res', 'results_to_json', 'other')]
    assert sum(parts) == pytest.approx(ev['total_s'], rel=0.05)
    assert 0 < ev['cocoeval_share'] <= 1 and 0 <= ev['keypoints_AP'] <= 1
    assert 'vs pycocotools' in stdout and 'cocoeval' in stdout

    with open(work / 'person_keypoints_train.json') as f:
        coco = json.load(f)
    assert set(coco) == {'info', 'licenses', 'images', 'annotations', 'categories'}
    assert set(coco['images'][0]) == {
        'license', 'file_name', 'coco_url', 'height', 'width', 'date_captured', 'flickr_url', 'id'
    }
    assert set(coco['annotations'][0]) == {
        'segmentation', 'num_keypoints', 'area', 'iscrowd', 'keypoints', 'image_id', 'bbox', 'category_id',
        'id'
    }
    (category, ) = coco['categories']
    assert len(category['keypoints']) == 17 and len(category['skeleton']) == 19
    assert all(len(a['keypoints']) == 51 for a in coco['annotations'])


def test_profile_ab_bf16_interleaves_float32_and_bfloat16(tiny_config, tmp_path):
    from mmhrkpt.utils import cpu_bf16_support
    payload, stdout = run_benchmark([
        'profile', tiny_config, '--img-size', '96', '--batch', '1', '--iters', '2', '--warmup', '0',
        '--device', 'cpu', '--cpu-bf16', 'ab'
    ], tmp_path / 'profile_ab.json')
    result = payload['results']
    if not cpu_bf16_support()[0]:
        assert result['cpu_bf16'] == 'off' and 'refused' in ' '.join(result['notes'])
        return
    assert result['cpu_bf16'] == 'ab'
    fp32, bf16, comparison = result['ours'], result['ours_bf16'], result['bf16_vs_fp32']
    for res in (fp32, bf16):
        assert len(res['iteration_ms_all']) == 2 and len(res['losses']) == 2
        assert sum(res['parts_ms'].values()) == pytest.approx(res['parts_sum_ms'])
    for key in ('bf16_over_fp32', 'bf16_over_fp32_pair_median', 'bf16_over_fp32_fastest'):
        assert positive(comparison[key]), key
    # the same initial weights and batch: the first losses differ by bfloat16's rounding only
    assert comparison['losses_fp32'][0] == pytest.approx(comparison['losses_bf16'][0], rel=0.02)
    assert comparison['loss_max_rel_diff'] == max(comparison['loss_rel_diff'])
    assert 'ours bf16 ms' in stdout and 'bf16/fp32' in stdout


def test_crowd_times_both_pipelines_per_person_count(tiny_config, tmp_path):
    """Tiny ours and the real top-down pipeline (its detector on a small test scale), N = 1 and 2: the
    JSON has every key the docs name, the counts are checked by the tool, the plot is written."""
    plot = tmp_path / 'plots' / 'crowd.png'  # a folder that does not exist yet
    payload, stdout = run_benchmark([
        'crowd', '--config', tiny_config, '--people', '1', '2', '--img-size', '128x160', '--iters', '1',
        '--warmup', '0', '--device', 'cpu', '--plot',
        str(plot), '--det-cfg-options', 'data.test.pipeline.1.img_scale=(160,128)'
    ], tmp_path / 'crowd.json')
    result = payload['results']
    for pipeline in ('ours', 'topdown'):
        assert set(result['latency_ms'][pipeline]) == {'1', '2'}
        assert all(positive(v) for v in result['latency_ms'][pipeline].values())
        assert isinstance(result['ms_per_person'][pipeline], float)
    assert 'crossover_n' in result and result['crossover_n'] in (None, 1, 2)
    config = result['per_config']['tiny_krcnn']
    assert set(config['ratio']) == {'1', '2'} and all(positive(v) for v in config['ratio'].values())
    # the breakdown's parts are exclusive times of one call: the keypoint head's layers are among them
    parts = result['breakdown_ms']['tiny_krcnn']['2']
    assert {'backbone + neck', 'rpn', 'box head', 'keypoint convs', 'keypoint decode', 'other'} <= set(parts)
    assert {'detector', 'pose backbone', 'pose head', 'other'} <= set(result['breakdown_ms']['topdown']['2'])
    assert result['memory']['topdown']['2']['kind'] == 'cpu_peak_rss'
    assert result['topdown']['flip_test'] is False
    assert plot.stat().st_size > 0 and 'ms/person' in stdout


def test_crowd_crossover_and_line_fit():
    """The crossover is the smallest N from which ours stays faster; the fit recovers a line."""
    sys.path.insert(0, str(ROOT / 'tools' / 'analysis_tools'))
    try:
        import benchmark_crowd
    finally:
        sys.path.pop(0)
    people = [1, 2, 4, 8]
    assert benchmark_crowd.crossover(people, {1: 5, 2: 5, 4: 5, 8: 5}, {1: 3, 2: 4, 4: 6, 8: 9}) == 4
    assert benchmark_crowd.crossover(people, {1: 5, 2: 3, 4: 7, 8: 5}, {1: 4, 2: 4, 4: 6, 8: 9}) == 8
    assert benchmark_crowd.crossover(people, {n: 1 for n in people}, {n: 2 for n in people}) == 1
    assert benchmark_crowd.crossover(people, {n: 3 for n in people}, {n: 2 for n in people}) is None
    slope, fixed = benchmark_crowd.fit_line(people, [100 + 7 * n for n in people])
    assert math.isclose(slope, 7.0, rel_tol=1e-9) and math.isclose(fixed, 100.0, rel_tol=1e-9)
    boxes = benchmark_crowd.person_boxes(16, (480, 640))
    assert boxes.shape == (16, 4) and (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert (boxes[:, [0, 2]] <= 639).all() and (boxes[:, [1, 3]] <= 479).all()


def test_crowd_table_when_the_topdown_fit_falls():
    """Two person counts on a busy machine can give top-down a falling line (no per-person ratio):
    the table says so instead of failing after the whole measurement."""
    sys.path.insert(0, str(ROOT / 'tools' / 'analysis_tools'))
    try:
        import benchmark_crowd
    finally:
        sys.path.pop(0)
    people = [1, 2]
    ours, top = {1: 34.0, 2: 28.0}, {1: 906.0, 2: 899.0}
    slope, fixed = benchmark_crowd.fit_line(people, [ours[n] for n in people])
    td_slope, td_fixed = benchmark_crowd.fit_line(people, [top[n] for n in people])
    assert td_slope < 0
    result = dict(
        people=people,
        per_config={
            'tiny': dict(
                latency_ms=ours,
                ratio={n: ours[n] / top[n]
                       for n in people},
                ms_per_person=slope,
                fixed_ms=fixed,
                per_person_vs_topdown=None,
                crossover_n=1)
        },
        latency_ms=dict(topdown=top),
        ms_per_person=dict(topdown=td_slope),
        fixed_ms=dict(topdown=td_fixed),
        topdown=dict(flip_test=False),
        breakdown_ms={'tiny': {
            2: {
                'backbone': 10.0
            }
        }},
        memory={'tiny': {
            n: dict(peak_mb=100.0, increase_mb=None)
            for n in people
        }},
        differences=[])
    text = benchmark_crowd.format_crowd(result)
    assert 'tiny: -6.0 ms/person (x top-down: n/a' in text and 'faster than top-down from N = 1' in text
