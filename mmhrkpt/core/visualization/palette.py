"""The one palette of every picture the project draws (BGR, OpenCV's order).

Left-side keypoints and limbs are orange, right-side ones blue, the rest green, so that a left/right
swap is visible at a glance; boxes are green, text white.
"""
from mmhrkpt.datasets.keypoint_meta import LEFT_PREFIX, RIGHT_PREFIX

LEFT = (0, 128, 255)
RIGHT = (255, 128, 0)
CENTRE = (0, 200, 0)
BOX = (0, 255, 0)
TEXT = (255, 255, 255)


def side_color(name):
    """The colour of a keypoint called ``name``: LEFT, RIGHT or CENTRE by its prefix."""
    if name.startswith(LEFT_PREFIX.rstrip('_')):
        return LEFT
    if name.startswith(RIGHT_PREFIX.rstrip('_')):
        return RIGHT
    return CENTRE


def keypoint_colors(num_keypoints, names=None):
    """One colour per keypoint: by side from ``names`` (COCO's names when K = 17 and None), else all
    CENTRE."""
    from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES
    if names is None and num_keypoints == len(COCO_KEYPOINT_NAMES):
        names = COCO_KEYPOINT_NAMES
    if names is None:
        return [CENTRE] * num_keypoints
    return [side_color(name) for name in names]
