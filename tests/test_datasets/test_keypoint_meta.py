"""COCO's keypoint constants in keypoint_meta."""
from mmhrkpt.datasets import COCO_KEYPOINT_NAMES, COCO_SKELETON, derive_flip_pairs


def test_coco_skeleton_links_every_keypoint_and_is_mirror_symmetric():
    num = len(COCO_KEYPOINT_NAMES)
    edges = {frozenset(edge) for edge in COCO_SKELETON}
    assert len(COCO_SKELETON) == len(edges) == 19
    assert all(0 <= i < num and 0 <= j < num and i != j for i, j in COCO_SKELETON)
    reached, frontier = {0}, [0]  # connected from the nose
    while frontier:
        k = frontier.pop()
        for edge in edges:
            if k in edge:
                (other, ) = edge - {k}
                if other not in reached:
                    reached.add(other)
                    frontier.append(other)
    assert reached == set(range(num))
    mirror = list(range(num))
    for i, j in derive_flip_pairs(COCO_KEYPOINT_NAMES):
        mirror[i], mirror[j] = j, i
    assert {frozenset((mirror[i], mirror[j])) for i, j in COCO_SKELETON} == edges
    # COCO's json lists the legs first: ankle-knee of the left side, 1-based (16, 14)
    assert COCO_SKELETON[0] == (COCO_KEYPOINT_NAMES.index('left_ankle'),
                                COCO_KEYPOINT_NAMES.index('left_knee'))
