"""Persons and skeletons in one image:

    python demo/image_demo.py IMG CONFIG CHECKPOINT --out-file out.png

The skeleton drawn and the flip pairs come from the checkpoint's keypoint meta, so a model of any K
draws its own keypoints without its dataset.
"""
import argparse

from mmhrkpt.apis import inference_model, init_model, show_inference


def main():
    parser = argparse.ArgumentParser(description='Keypoint R-CNN on one image')
    parser.add_argument('img')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-file', required=True, help='where to save the drawn image')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--score-thr', type=float, default=0.3)
    args = parser.parse_args()
    model = init_model(args.config, args.checkpoint, device=args.device)
    result = inference_model(model, args.img)
    show_inference(args.img, result, out_file=args.out_file, score_thr=args.score_thr, model=model)
    keep = result['scores'] >= args.score_thr
    print(f'{int(keep.sum())} persons (score >= {args.score_thr}); drawn to {args.out_file}')


if __name__ == '__main__':
    main()
