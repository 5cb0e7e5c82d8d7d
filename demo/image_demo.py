"""Persons and skeletons in one image:

    python demo/image_demo.py IMG CONFIG CHECKPOINT --out-file out.png
    python demo/image_demo.py IMG MODEL.onnx --backend onnxruntime --out-file out.png

With the PyTorch backend the skeleton drawn and the flip pairs come from the checkpoint's keypoint meta,
so a model of any K draws its own keypoints without its dataset. The onnxruntime backend runs a model
exported by tools/deployment/pytorch2onnx.py; the file carries its preprocessing and keypoint meta, so
no config is needed.
"""
import argparse

from mmhrkpt.apis import show_inference


def parse_args():
    parser = argparse.ArgumentParser(description='Keypoint R-CNN on one image')
    parser.add_argument('img')
    parser.add_argument('config', help='model config, or the .onnx file with --backend onnxruntime')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file (PyTorch backend)')
    parser.add_argument('--out-file', required=True, help='where to save the drawn image')
    parser.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch')
    parser.add_argument('--device', default='cpu', help='PyTorch backend: cpu or cuda[:i]')
    parser.add_argument('--score-thr', type=float, default=0.3)
    args = parser.parse_args()
    if args.backend == 'pytorch' and args.checkpoint is None:
        parser.error('the PyTorch backend needs CONFIG and CHECKPOINT')
    if args.backend == 'onnxruntime' and args.checkpoint is not None:
        parser.error('the onnxruntime backend takes IMG and MODEL.onnx only')
    return args


def main():
    args = parse_args()
    if args.backend == 'onnxruntime':
        from mmhrkpt.deployment import ONNXKeypointDetector
        detector = ONNXKeypointDetector(args.config)
        result = detector(args.img)
        draw = dict(skeleton=detector.skeleton, keypoint_names=detector.keypoint_names)
    else:
        from mmhrkpt.apis import inference_model, init_model
        model = init_model(args.config, args.checkpoint, device=args.device)
        result = inference_model(model, args.img)
        draw = dict(model=model)
    show_inference(args.img, result, out_file=args.out_file, score_thr=args.score_thr, **draw)
    keep = result['scores'] >= args.score_thr
    print(f'{int(keep.sum())} persons (score >= {args.score_thr}); drawn to {args.out_file}')


if __name__ == '__main__':
    main()
