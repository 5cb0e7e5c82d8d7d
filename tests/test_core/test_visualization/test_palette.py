import numpy as np

from mmhrkpt.core.visualization import CENTRE, LEFT, RIGHT, imshow_keypoints, keypoint_colors
from mmhrkpt.datasets import COCO_KEYPOINT_NAMES


def test_colours_follow_the_side_of_each_keypoint():
    colors = keypoint_colors(17)  # COCO's names when K = 17
    for name, color in zip(COCO_KEYPOINT_NAMES, colors):
        expected = LEFT if name.startswith('left') else RIGHT if name.startswith('right') else CENTRE
        assert color == expected, name
    assert keypoint_colors(3) == [CENTRE] * 3
    assert keypoint_colors(2, ['left_hand', 'right_hand']) == [LEFT, RIGHT]


def test_a_left_keypoint_is_drawn_in_the_left_colour():
    img = np.zeros((40, 40, 3), np.uint8)
    keypoints = np.zeros((1, 2, 3), np.float32)
    keypoints[0, 0] = (10.5, 20.5, 1.0)
    keypoints[0, 1] = (30.5, 20.5, 1.0)
    drawn = imshow_keypoints(
        img,
        np.array([[0, 0, 39, 39, 1.0]]),
        keypoints,
        skeleton=[],
        keypoint_names=['left_hand', 'right_hand'],
        radius=2)
    assert tuple(drawn[20, 10]) == LEFT
    assert tuple(drawn[20, 30]) == RIGHT
    assert not img.any()  # drawn on a copy
