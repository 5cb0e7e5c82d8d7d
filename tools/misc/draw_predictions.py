"""Ground truth next to predictions for the first N images of the test split, as PNGs:

    python tools/draw_predictions.py CONFIG CHECKPOINT --out-dir DIR --num 6
"""
import argparse

from mmcv import DictAction
from mmdet.datasets import build_dataset

from mmhrkpt.apis import init_model
from mmhrkpt.core.visualization import draw_predictions


def main():
    parser = argparse.ArgumentParser(description='Draw ground truth | prediction pictures')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--num', type=int, default=6)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    model = init_model(args.config, args.checkpoint, device=args.device, cfg_options=args.cfg_options)
    dataset = build_dataset(model.cfg.data.test, dict(test_mode=True))
    files = draw_predictions(model, dataset, args.out_dir, args.num, score_thr=args.score_thr)
    print(f'wrote {len(files)} images to {args.out_dir}')


if __name__ == '__main__':
    main()
