"""Persons and skeletons in a video file or a webcam stream:

    python demo/video_demo.py VIDEO CONFIG CHECKPOINT --out OUT.mp4 --json OUT.json [--score-thr 0.3]
    python demo/video_demo.py CONFIG CHECKPOINT --camera-id 0 --show [--out OUT.mp4] [--json OUT.json]

``OUT.mp4`` has the input's frames (every decoded frame, drawn), frame rate and size. ``OUT.json`` is
JSON Lines: one JSON object per line, one line per frame, each written and flushed when its frame is
done, so a crash loses nothing already written (read it with ``[json.loads(line) for line in f]``)::

    {"frame_id": 0, "time_s": 0.0, "persons": [{"bbox": [x1, y1, x2, y2], "score": 0.93,
     "keypoints": [[x, y, score], ... K of them]}, ...]}

``time_s`` is ``frame_id / fps`` for a file and the time since the first frame for a camera. Persons
are those with score >= ``--score-thr``, best first; coordinates are the frame's continuous pixels
(CONVENTIONS.md: pixel (i, j) covers [j, j+1) x [i, i+1)). The keypoint names and skeleton come from
the checkpoint's keypoint meta, else the config's ``data.test.dataset_info``, else COCO's for K = 17.
A progress bar shows frames/s; at the end the time per frame is split into decoding, model, drawing
and writing.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

# FFmpeg prints its own complaints about a broken file; the demo says what is wrong in one line.
os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')

import cv2  # noqa: E402  (after quietening FFmpeg)
import mmcv  # noqa: E402
import numpy as np  # noqa: E402

from mmhrkpt.apis import inference_model, init_model  # noqa: E402
from mmhrkpt.core.visualization import imshow_keypoints  # noqa: E402
from mmhrkpt.utils import run_reporting_errors  # noqa: E402

# Frame rate written for a camera that does not report one.
DEFAULT_CAMERA_FPS = 30.0
STAGES = ('decode', 'model', 'drawing', 'writing')
QUIT_KEYS = (27, ord('q'))  # Esc, q


def parse_args():
    parser = argparse.ArgumentParser(description='Keypoint R-CNN on a video or a webcam')
    parser.add_argument(
        'inputs',
        nargs='+',
        metavar='VIDEO CONFIG CHECKPOINT',
        help='VIDEO CONFIG CHECKPOINT, or CONFIG CHECKPOINT with --camera-id')
    parser.add_argument('--camera-id', type=int, default=None, help='read this webcam instead of a file')
    parser.add_argument('--out', help='drawn video (.mp4)')
    parser.add_argument('--json', help='results, JSON Lines (one object per frame)')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--show', action='store_true', help='show the frames (q or Esc stops)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    expected = 2 if args.camera_id is not None else 3
    if len(args.inputs) != expected:
        parser.error('give VIDEO CONFIG CHECKPOINT, or CONFIG CHECKPOINT --camera-id N')
    if args.camera_id is None:
        args.video, args.config, args.checkpoint = args.inputs
    else:
        args.video = None
        args.config, args.checkpoint = args.inputs
    if not (args.out or args.json or args.show):
        parser.error('nothing to do: give --out, --json or --show')
    return args


def open_source(video, camera_id):
    """The opened capture, its first frame, its frame rate (None: unknown) and its announced frame
    count (0: unknown); a clear error for a missing, unreadable or empty source."""
    if camera_id is not None:
        name = f'camera {camera_id}'
        level = cv2.getLogLevel()
        cv2.setLogLevel(0)  # silent: OpenCV logs each backend it tries; one line says the outcome
        try:
            cap = cv2.VideoCapture(camera_id)
        finally:
            cv2.setLogLevel(level)
        if not cap.isOpened():
            raise ValueError(f'cannot open {name}')
    else:
        name = f'video {video}'
        if not osp.isfile(video):
            raise FileNotFoundError(f'{name} does not exist')
        cap = cv2.VideoCapture(video)
        if not cap.isOpened():
            raise ValueError(f'cannot read {name}: OpenCV cannot decode it (not a video, or a '
                             'codec it lacks)')
    ok, frame = cap.read()
    if not ok or frame is None:
        cap.release()
        raise ValueError(f'{name} has no frames')
    fps = cap.get(cv2.CAP_PROP_FPS)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if camera_id is None else 0
    return cap, frame, (fps if fps and fps > 0 else None), max(count, 0)


class FrameProgress:
    """One status line: frames done (of the announced count when known), frames/s, elapsed time."""

    def __init__(self, total=0, stream=sys.stdout):
        self.total, self.done, self.stream = total, 0, stream
        self.start = time.perf_counter()

    def update(self):
        self.done += 1
        elapsed = time.perf_counter() - self.start
        of = f'/{self.total}' if self.total else ''
        self.stream.write(f'\rframe {self.done}{of}, {self.done / max(elapsed, 1e-9):.1f} frames/s, '
                          f'elapsed {elapsed:.0f} s')
        self.stream.flush()


def frame_entry(frame_id, time_s, result, score_thr):
    """The JSON object of one frame (persons with score >= ``score_thr``)."""
    keep = result['scores'] >= score_thr
    persons = [
        dict(bbox=np.round(b, 2).tolist(), score=round(float(s), 4), keypoints=np.round(k, 4).tolist())
        for b, s, k in zip(result['bboxes'][keep], result['scores'][keep], result['keypoints'][keep])
    ]
    return dict(frame_id=frame_id, time_s=round(time_s, 4), persons=persons)


def main(args):
    cap, frame, fps, announced = open_source(args.video, args.camera_id)
    writer = json_file = None
    try:
        model = init_model(args.config, args.checkpoint, device=args.device)
        names, skeleton = model.keypoint_meta['keypoint_names'], model.keypoint_meta['skeleton']
        out_fps = fps or DEFAULT_CAMERA_FPS
        if args.out:
            mmcv.mkdir_or_exist(osp.dirname(osp.abspath(args.out)))
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*'mp4v'), out_fps, (w, h))
            if not writer.isOpened():
                raise ValueError(f'cannot write {args.out} (OpenCV mp4v writer)')
        if args.json:
            mmcv.mkdir_or_exist(osp.dirname(osp.abspath(args.json)))
            json_file = open(args.json, 'w')
        seconds = dict.fromkeys(STAGES, 0.0)
        progress = FrameProgress(announced)
        start = time.perf_counter()
        frame_id = 0
        try:
            while frame is not None:
                t0 = time.perf_counter()
                result = inference_model(model, frame)
                t1 = time.perf_counter()
                drawn = None
                if writer is not None or args.show:
                    bboxes = np.concatenate([result['bboxes'], result['scores'][:, None]], 1)
                    drawn = imshow_keypoints(
                        frame,
                        bboxes,
                        result['keypoints'],
                        skeleton=skeleton,
                        keypoint_names=names,
                        score_thr=args.score_thr)
                t2 = time.perf_counter()
                if writer is not None:
                    writer.write(drawn)
                if json_file is not None:
                    time_s = frame_id / fps if args.camera_id is None and fps else t0 - start
                    json_file.write(json.dumps(frame_entry(frame_id, time_s, result, args.score_thr)) + '\n')
                    json_file.flush()
                t3 = time.perf_counter()
                seconds['model'] += t1 - t0
                seconds['drawing'] += t2 - t1
                seconds['writing'] += t3 - t2
                frame_id += 1
                progress.update()
                if args.show:
                    cv2.imshow('video_demo', drawn)
                    if cv2.waitKey(1) & 0xFF in QUIT_KEYS:
                        break
                t4 = time.perf_counter()
                ok, frame = cap.read()
                seconds['decode'] += time.perf_counter() - t4
                if not ok:
                    frame = None
        except KeyboardInterrupt:  # the way to stop a camera without --show
            print('\ninterrupted')
        total = time.perf_counter() - start
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if json_file is not None:
            json_file.close()
        if args.show:
            cv2.destroyAllWindows()
    split = ', '.join(f'{s} {1000 * seconds[s] / max(frame_id, 1):.1f} ms' for s in STAGES)
    note = f' (the file announced {announced})' if announced and announced != frame_id else ''
    print(f'\n{frame_id} frames{note} at {out_fps:g} fps, {frame_id / max(total, 1e-9):.1f} frames/s '
          f'overall\ntime per frame: {split}')
    for path in (args.out, args.json):
        if path:
            print(f'wrote {path}')


if __name__ == '__main__':
    sys.exit(run_reporting_errors(main, parse_args()))
