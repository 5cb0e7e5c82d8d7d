"""tools/misc/gpu_check.sh where there is no GPU: its arguments, its "no GPU found" message and exit
status, that it runs nothing then; and the report it writes from what the steps leave behind."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'misc' / 'gpu_check.sh'
REPORT = ROOT / 'tools' / 'misc' / 'gpu_check_report.py'
NO_GPU = 3


def run(*args, path_dirs=(), env_extra=None):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='')
    env['PATH'] = os.pathsep.join([str(d) for d in path_dirs] + [env['PATH']])
    env.update(env_extra or {})
    return subprocess.run(['bash', str(SCRIPT), *map(str, args)],
                          capture_output=True,
                          text=True,
                          env=env,
                          timeout=300)


def fake_tool(folder, name, script):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text('#!/bin/sh\n' + script)
    path.chmod(0o755)
    return folder


def test_the_script_parses():
    assert subprocess.run(['bash', '-n', str(SCRIPT)]).returncode == 0


def test_help_and_bad_arguments():
    proc = run('--help')
    assert proc.returncode == 0 and '--skip-setup' in proc.stdout and 'Exit status' in proc.stdout
    for args, message in ((['--bogus'], "unknown argument '--bogus'"), (['--iters', 'ten'],
                                                                        '--iters needs a positive integer'),
                          (['--iters'], '--iters needs a number'), (['--out'], '--out needs a file')):
        proc = run(*args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
        assert 'usage:' in proc.stderr


@pytest.mark.parametrize('nvidia_smi', [None, 'exit 9\n', 'echo "No devices were found"\n'])
def test_no_gpu_found_runs_nothing(tmp_path, nvidia_smi):
    dirs = [fake_tool(tmp_path / 'bin', 'nvidia-smi', nvidia_smi)] if nvidia_smi else []
    env = {} if nvidia_smi else dict(PATH='/usr/bin:/bin')  # no nvidia-smi anywhere
    work = tmp_path / 'work'
    proc = run('--work-dir', work, path_dirs=dirs, env_extra=env)
    assert proc.returncode == NO_GPU, proc.stderr
    assert 'no GPU found' in proc.stderr and 'nothing was run' in proc.stderr
    assert not work.exists()


def test_a_gpu_torch_cannot_see_is_no_gpu(tmp_path):
    """nvidia-smi lists a GPU but torch sees none (here: a CPU machine with CUDA hidden)."""
    bin_dir = fake_tool(tmp_path / 'bin', 'nvidia-smi', 'echo "GPU 0: NVIDIA H200 (UUID: GPU-0)"\n')
    proc = run(
        '--skip-setup', '--python', sys.executable, '--work-dir', tmp_path / 'work', path_dirs=[bin_dir])
    assert proc.returncode == NO_GPU, proc.stderr
    assert 'torch in' in proc.stderr and 'sees none' in proc.stderr
    assert (tmp_path / 'work' / 'steps.tsv').read_text() == ''  # no step ran


def test_report_gathers_the_steps(tmp_path):
    work = tmp_path / 'work'
    (work / 'train_fp16').mkdir(parents=True)
    (work / 'steps.tsv').write_text('cuda_tests\t0\t61000\tcuda_tests.log\n'
                                    'train_fp16\t0\t95500\ttrain_fp16.log\n'
                                    'bench_infer_fp16\t1\t2000\tbench_infer_fp16.log\n')
    (work / 'cuda_tests.xml').write_text(
        '<testsuites><testsuite tests="14" failures="1" errors="0" skipped="0">'
        '<testcase classname="t" name="ok"/><testcase classname="t" name="bad"><failure/></testcase>'
        '</testsuite></testsuites>')
    rows = [
        dict(mode='train', iter=i, time=t, loss=2.0 - i / 10, loss_keypoint=0.5, memory=900)
        for i, t in ((1, 0.5), (2, 0.3), (3, 0.4))
    ] + [dict(mode='val', keypoints_AP=0.1)]
    (work / 'train_fp16' / '20261201.log.json').write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    (work / 'bench_train_fp16.json').write_text(
        json.dumps(dict(command='train', machine=dict(device_name='NVIDIA H200'), results=dict(fp16=True))))
    out = tmp_path / 'report.json'
    proc = subprocess.run([sys.executable, str(REPORT), str(work), str(out)], capture_output=True, text=True)
    assert proc.returncode == 1  # a step failed
    assert 'failed: bench_infer_fp16' in proc.stdout
    report = json.loads(out.read_text())
    assert report['passed'] is False
    assert report['steps']['cuda_tests'] == dict(
        exit_status=0, seconds=61.0, log='cuda_tests.log', passed=True)
    assert report['cuda_tests']['tests'] == 14 and report['cuda_tests']['failed'] == ['t.bad']
    training = report['training']['train_fp16']
    assert training['iterations'] == 3 and training['seconds_per_iter_median'] == 0.4
    assert training['last_loss'] == pytest.approx(1.7) and training['keypoints_AP'] == 0.1
    assert report['training']['train_fp32'] is None
    assert report['benchmarks']['bench_train_fp16']['results'] == dict(fp16=True)
    assert report['machine'] == dict(device_name='NVIDIA H200')


def test_an_interpreter_without_torch_is_named(tmp_path):
    bin_dir = fake_tool(tmp_path / 'bin', 'nvidia-smi', 'echo "GPU 0: NVIDIA H200 (UUID: GPU-0)"\n')
    proc = run(
        '--skip-setup',
        '--python',
        tmp_path / 'no-python',
        '--work-dir',
        tmp_path / 'work',
        path_dirs=[bin_dir])
    assert proc.returncode == 1 and 'no torch in' in proc.stderr, proc.stderr
