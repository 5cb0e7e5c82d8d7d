"""The synthetic figure model: joint indices, bone lengths of sampled poses, the projection."""
import math

import numpy as np
import pytest

from mmhrkpt.datasets import COCO_KEYPOINT_NAMES
from mmhrkpt.testing.synthetic import figure
from mmhrkpt.testing.synthetic.figure import FACE_OFFSETS, SIDES, project, sample_pose


def test_joint_indices_follow_the_names():
    for side in SIDES:
        joints = side['arm'] + side['leg'] + (side['eye'], side['ear'])
        assert all(COCO_KEYPOINT_NAMES[k].startswith(side['name'] + '_') for k in joints)
    assert COCO_KEYPOINT_NAMES[figure.NOSE] == 'nose'
    assert COCO_KEYPOINT_NAMES[figure.L_ANKLE] == 'left_ankle'
    assert COCO_KEYPOINT_NAMES[figure.R_WRIST] == 'right_wrist'


@pytest.mark.parametrize('seed', range(5))
def test_sampled_pose_keeps_its_proportions(seed):
    """Rotations move joints but keep every bone as long as the sampled proportions say."""
    pose = sample_pose(np.random.default_rng(seed))
    kpts, dims = pose['kpts'], pose['dims']
    assert kpts.shape == (len(COCO_KEYPOINT_NAMES), 3) and pose['torso'].shape == (8, 3)
    for side in SIDES:
        (s, e, w), (h, k, a) = side['arm'], side['leg']
        for (i, j), bone in (((s, e), 'upper_arm'), ((e, w), 'forearm'), ((h, k), 'thigh'), ((k, a), 'shin')):
            assert np.linalg.norm(kpts[j] - kpts[i]) == pytest.approx(dims[bone])
    for k, offset in FACE_OFFSETS.items():
        distance = np.linalg.norm(kpts[k] - pose['head'])
        assert distance == pytest.approx(np.linalg.norm(offset) * dims['head_radius'])
    hip_width = np.linalg.norm(kpts[figure.L_HIP] - kpts[figure.R_HIP])
    assert hip_width == pytest.approx(dims['hip_width'])
    for unit in ('head_up', 'head_fwd'):
        assert np.linalg.norm(pose[unit]) == pytest.approx(1.0)


def test_project_scales_flips_y_and_rolls():
    points = np.array([[0.0, 0.0, 5.0], [0.0, 1.0, 0.0], [0.5, 0.0, -2.0]])
    offset = np.array([30.0, 40.0])
    xy = project(points, 100.0, 0.0, offset)
    np.testing.assert_allclose(xy, [[30, 40], [30, -60], [80, 40]])  # depth is dropped, y is down
    rolled = project(points, 100.0, math.pi / 2, offset)
    np.testing.assert_allclose(rolled, [[30, 40], [130, 40], [30, 90]], atol=1e-9)
