"""Write the synthetic COCO-keypoints data set (no COCO download needed).

    python tools/misc/make_synthetic.py data/synthetic --num-train 500 --num-val 100 --seed 0

writes OUT/images/{train,val}/*.jpg, OUT/annotations/person_keypoints_{train,val}.json and
OUT/preview.png (train images with their ground truth drawn). See mmhrkpt/testing/synthetic/.
"""
import argparse

from mmhrkpt.testing.synthetic import generate_synthetic_coco


def parse_args():
    parser = argparse.ArgumentParser(description='Generate synthetic multi-person keypoint data')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--num-train', type=int, default=500, help='number of train images')
    parser.add_argument('--num-val', type=int, default=100, help='number of val images')
    parser.add_argument('--seed', type=int, default=0, help='same seed, same bytes')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        default=(256, 256),
        metavar=('H', 'W'),
        help='image height and width')
    parser.add_argument('--max-persons', type=int, default=4, help='1 .. N people per image')
    parser.add_argument(
        '--min-keypoint-area',
        type=int,
        default=32**2,
        help='people with a smaller area (pixels) get a box but no keypoints, as '
        'in COCO (0: label everybody)')
    parser.add_argument('--img-ext', default='.jpg', choices=('.jpg', '.png'))
    parser.add_argument('--no-preview', action='store_true', help='do not write preview.png')
    return parser.parse_args()


def main():
    args = parse_args()
    out = generate_synthetic_coco(
        args.out,
        args.num_train,
        args.num_val,
        seed=args.seed,
        image_size=tuple(args.image_size),
        max_persons=args.max_persons,
        min_keypoint_area=args.min_keypoint_area,
        img_ext=args.img_ext,
        preview=not args.no_preview)
    for split in ('train', 'val'):
        s = out[split]
        print(f"{split}: {s['num_images']} images, {s['num_persons']} persons, "
              f"{s['num_keypoints']} labelled keypoints ({s['num_visible']} visible, "
              f"{s['num_occluded']} occluded), {s['num_unlabelled']} unlabelled; "
              f"{s['num_small']} small persons with a box only")
        print(f"  images:      {s['img_prefix']}")
        print(f"  annotations: {s['ann_file']}")
    if out['preview'] is not None:
        print(f"preview: {out['preview']}")


if __name__ == '__main__':
    main()
