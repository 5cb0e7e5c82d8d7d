"""Draw the ground truth after the training pipeline (to check augmentation):

    python tools/browse_dataset.py CONFIG --output-dir browse/ --num 8
"""
import argparse
import os.path as osp

import mmcv
from mmcv import Config, DictAction
from mmdet.datasets import build_dataset

import mmhrkpt  # noqa: F401
from mmhrkpt.core.visualization import imshow_keypoints

# Steps that turn the image into a network input; the pictures are drawn before them.
SKIP = ('Normalize', 'DefaultFormatBundle', 'KeypointFormatBundle', 'Collect', 'ImageToTensor')


def main():
    parser = argparse.ArgumentParser(description='Browse a dataset after its train pipeline')
    parser.add_argument('config')
    parser.add_argument('--output-dir', default='browse_dataset')
    parser.add_argument('--num', type=int, default=8, help='how many samples to draw')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    train = cfg.data.train
    train.pipeline = [step for step in train.pipeline if step['type'] not in SKIP]
    dataset = build_dataset(train)
    mmcv.mkdir_or_exist(args.output_dir)
    prog_bar = mmcv.ProgressBar(min(args.num, len(dataset)))
    for i in range(min(args.num, len(dataset))):
        item = dataset[i]
        drawn = imshow_keypoints(
            item['img'],
            item['gt_bboxes'],
            item['gt_keypoints'],
            skeleton=dataset.skeleton,
            keypoint_names=dataset.keypoint_names,
            kpt_thr=0)
        name = osp.splitext(osp.basename(item['filename']))[0]
        mmcv.imwrite(drawn, osp.join(args.output_dir, f'{i:03d}_{name}.png'))
        prog_bar.update()
    print(f'\nwrote {min(args.num, len(dataset))} images to {args.output_dir}')


if __name__ == '__main__':
    main()
