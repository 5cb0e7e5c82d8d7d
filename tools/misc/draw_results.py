"""Draw saved results on their images or frames, without the model:

    # COCO keypoint results json (tools/test.py --format-only) on the images of its annotation file
    python tools/misc/draw_results.py RESULTS.keypoints.json --ann-file ANN.json --img-dir IMAGES/ \
        --out-dir DIR
    # the JSON Lines of demo/video_demo.py --json on the frames of its video
    python tools/misc/draw_results.py OUT.json --video VIDEO.mp4 --out-dir DIR

One PNG per image (named after it) or per frame (``frame_000012.png``), persons with score >=
``--score-thr``. Names and skeleton: the annotation file's category, else ``--config``'s
``data.test.dataset_info``, else COCO's for K = 17.
"""
import argparse
import json
import os
import os.path as osp
import sys
from collections import defaultdict

os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')  # the errors are said in one line below

import cv2  # noqa: E402  (after quietening FFmpeg)
import mmcv  # noqa: E402
import numpy as np  # noqa: E402

from mmhrkpt.core.visualization import drawing_meta, imshow_keypoints  # noqa: E402
from mmhrkpt.datasets.keypoint_meta import PIXEL_CENTER_OFFSET  # noqa: E402
from mmhrkpt.utils import run_reporting_errors  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Draw saved keypoint results')
    parser.add_argument('results', help='COCO keypoint results json, or video_demo.py JSON Lines')
    parser.add_argument('--ann-file', help='COCO annotation file of the results (file names, meta)')
    parser.add_argument('--img-dir', help='folder of the annotation file\'s images')
    parser.add_argument('--video', help='the video of video_demo.py results')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--config', help='a config whose data.test.dataset_info names the keypoints')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--max-num', type=int, default=None, help='draw at most this many')
    args = parser.parse_args()
    if bool(args.video) == bool(args.ann_file):
        parser.error('give either --ann-file (with --img-dir) or --video')
    if args.ann_file and not args.img_dir:
        parser.error('--ann-file needs --img-dir')
    return args


def load_video_results(path):
    """The frames of a video_demo.py JSON Lines file; a last line cut short by a crash is skipped.

    Returns:
        list[dict]: one per frame (``frame_id``, ``time_s``, ``persons``).
    """
    frames = []
    with open(path) as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if n == len(lines):  # a frame being written when the demo stopped
                break
            raise ValueError(f'{path}, line {n}: not JSON (expected the JSON Lines of video_demo.py)')
        if not isinstance(entry, dict) or 'frame_id' not in entry or 'persons' not in entry:
            raise ValueError(f'{path}, line {n}: not a video_demo.py frame (no frame_id / persons)')
        frames.append(entry)
    return frames


def _persons_arrays(persons, num_keypoints):
    """bboxes np.ndarray[n, 5] (with score) and keypoints np.ndarray[n, K, 3] of video persons."""
    bboxes = np.asarray([p['bbox'] + [p['score']] for p in persons], dtype=np.float32).reshape(-1, 5)
    kpts = np.asarray([p['keypoints'] for p in persons], dtype=np.float32)
    return bboxes, kpts.reshape(len(persons), num_keypoints, 3)


def _config_info(config):
    if config is None:
        return None
    return mmcv.Config.fromfile(config).data.test.get('dataset_info', None)


def draw_video(args):
    frames = load_video_results(args.results)
    num_kpts = next((len(p['keypoints']) for f in frames for p in f['persons']), 0)
    names, skeleton = drawing_meta(num_kpts, _config_info(args.config)) if num_kpts else (None, [])
    by_id = {f['frame_id']: f['persons'] for f in frames}
    if not osp.isfile(args.video):
        raise FileNotFoundError(f'video {args.video} does not exist')
    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        raise ValueError(f'cannot read video {args.video}: OpenCV cannot decode it')
    todo = sorted(by_id)[:args.max_num]
    progress = mmcv.ProgressBar(len(todo))
    written, frame_id = 0, 0
    wanted = set(todo)
    try:
        while wanted:
            ok, frame = cap.read()
            if not ok:
                break
            if frame_id in wanted:
                bboxes, kpts = _persons_arrays(by_id[frame_id], num_kpts)
                drawn = imshow_keypoints(
                    frame, bboxes, kpts, skeleton=skeleton, keypoint_names=names, score_thr=args.score_thr)
                mmcv.imwrite(drawn, osp.join(args.out_dir, f'frame_{frame_id:06d}.png'))
                wanted.discard(frame_id)
                written += 1
                progress.update()
            frame_id += 1
    finally:
        cap.release()
    if wanted:
        raise ValueError(f'{args.results} has frames up to {max(wanted)} but {args.video} ends after '
                         f'{frame_id} frames: the results of another video?')
    return written


def draw_coco(args):
    results = mmcv.load(args.results)
    if not isinstance(results, list) or any(
            not isinstance(r, dict) or not {'image_id', 'keypoints', 'score'} <= set(r) for r in results):
        raise ValueError(f'{args.results}: expected a COCO keypoint results json (a list of entries '
                         'with image_id, keypoints, score)')
    ann = mmcv.load(args.ann_file)
    images = {img['id']: img for img in ann.get('images', [])}
    by_image = defaultdict(list)
    for r in results:
        if r['image_id'] not in images:
            raise ValueError(f'{args.results}: image id {r["image_id"]} is not in {args.ann_file}')
        by_image[r['image_id']].append(r)
    num_kpts = len(results[0]['keypoints']) // 3 if results else 0
    category = next((c for c in ann.get('categories', []) if c.get('keypoints')), None)
    names, skeleton = (
        drawing_meta(num_kpts, _config_info(args.config), category) if num_kpts else (None, []))
    todo = sorted(by_image)[:args.max_num]
    progress = mmcv.ProgressBar(len(todo))
    for img_id in todo:
        entries = by_image[img_id]
        file_name = images[img_id]['file_name']
        path = osp.join(args.img_dir, file_name)
        if not osp.isfile(path):
            raise FileNotFoundError(f'image {path} (id {img_id} of {args.ann_file}) does not exist')
        kpts = np.asarray([r['keypoints'] for r in entries], dtype=np.float32).reshape(-1, num_kpts, 3)
        kpts[..., :2] += PIXEL_CENTER_OFFSET  # COCO pixel indices -> continuous pixels
        if all('bbox' in r for r in entries):
            boxes = np.asarray([r['bbox'] for r in entries], dtype=np.float32)
            boxes[:, 2:] += boxes[:, :2]
        else:  # the official keypoint results carry no box: the keypoints' extent
            boxes = np.concatenate([kpts[..., :2].min(1), kpts[..., :2].max(1)], 1)
        scores = np.asarray([[r['score']] for r in entries], dtype=np.float32)
        drawn = imshow_keypoints(
            path,
            np.concatenate([boxes, scores], 1),
            kpts,
            skeleton=skeleton,
            keypoint_names=names,
            score_thr=args.score_thr)
        mmcv.imwrite(drawn, osp.join(args.out_dir, osp.splitext(osp.basename(file_name))[0] + '.png'))
        progress.update()
    return len(todo)


def main(args):
    if not osp.isfile(args.results):
        raise FileNotFoundError(f'results file {args.results} does not exist')
    mmcv.mkdir_or_exist(args.out_dir)
    written = draw_video(args) if args.video else draw_coco(args)
    print(f'\nwrote {written} pictures to {args.out_dir}')


if __name__ == '__main__':
    sys.exit(run_reporting_errors(main, parse_args()))
