"""Fixtures: small COCO-format keypoint datasets written into tmp_path."""
import pytest
from coco_kpt_data import COCO_SKELETON_1BASED, CROWDPOSE_NAMES, CROWDPOSE_SIGMAS, person, write_coco


@pytest.fixture
def coco_small(tmp_path):
    """Four images, K = 17:

    1 a.png: person 1 (5 labelled keypoints), person 2 (1 labelled), crowd 3.
    2 b.png: person 4 with no labelled keypoint.
    3 c.png: no annotation.
    4 d.png: person 5 with a zero-width box, person 6 (3 labelled, one of them occluded).
    """
    anns = [
        person(1, 1, (10, 5, 30, 40), {
            0: (20, 10, 2),
            1: (22, 9, 2),
            2: (18, 9, 1),
            5: (25, 20, 2),
            6: (15, 20, 2)
        }),
        person(2, 1, (45, 10, 20, 30), {0: (50, 15, 2)}),
        person(3, 1, (0, 0, 79, 59), {}, iscrowd=1),
        person(4, 2, (5, 5, 20, 20), {}),
        person(5, 4, (30, 30, 0, 10), {0: (30, 32, 2)}),
        person(6, 4, (20, 10, 40, 45), {
            0: (40, 15, 2),
            9: (30, 40, 1),
            10: (55, 40, 2)
        }),
    ]
    images = [(1, 'a.png'), (2, 'b.png'), (3, 'c.png'), (4, 'd.png')]
    ann_file, img_prefix = write_coco(tmp_path, images, anns, skeleton=COCO_SKELETON_1BASED)
    return dict(ann_file=ann_file, img_prefix=img_prefix, anns={a['id']: a for a in anns}, root=tmp_path)


@pytest.fixture
def crowdpose_small(tmp_path):
    """Two images with K = 14 keypoints and no names in the json (the meta comes from
    dataset_info)."""
    anns = [
        person(
            1,
            1, (10, 5, 30, 40), {
                12: (25, 8, 2),
                13: (25, 14, 2),
                0: (30, 15, 2),
                1: (20, 15, 2),
                10: (28, 42, 1)
            },
            num_keypoints=14),
        person(2, 2, (40, 10, 30, 45), {
            12: (55, 12, 2),
            6: (60, 35, 2),
            7: (50, 35, 2)
        }, num_keypoints=14),
    ]
    ann_file, img_prefix = write_coco(tmp_path, [(1, 'a.png'), (2, 'b.png')], anns, keypoint_names=())
    dataset_info = dict(
        keypoint_names=list(CROWDPOSE_NAMES), sigmas=CROWDPOSE_SIGMAS, skeleton=[(12, 13), (13, 0), (13, 1)])
    return dict(
        ann_file=ann_file, img_prefix=img_prefix, anns={a['id']: a
                                                        for a in anns}, dataset_info=dataset_info)
