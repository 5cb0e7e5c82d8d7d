"""The figure model: body proportions, pose sampling, 3-D joints and their projection.

A figure is a kinematic skeleton in 3-D, in units of standing height (ankle to crown is about 1):
X = the person's left, Y = up, Z = the direction the person faces. Proportions and joint angles are
drawn within human ranges (spine lean, chest twist, head turn, shoulder flexion/abduction/rotation,
elbow, hip, knee); the body is then turned by a random yaw (front, profile and back views) and
seen by an orthographic camera with a small pitch. ``project`` rolls, scales and places the camera
frame in the image.

Letters: K = 17 COCO keypoints, indexed as ``COCO_KEYPOINT_NAMES`` orders them.
"""
import math

import numpy as np

from mmhrkpt.datasets.keypoint_meta import COCO_KEYPOINT_NAMES

NUM_KEYPOINTS = len(COCO_KEYPOINT_NAMES)


def _keypoint_index(name):
    return COCO_KEYPOINT_NAMES.index(name)


NOSE, L_EYE, R_EYE, L_EAR, R_EAR = map(_keypoint_index,
                                       ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear'))
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = map(
    _keypoint_index,
    ('left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist'))
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = map(
    _keypoint_index, ('left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'))

# Body proportions in units of standing height.
BODY = dict(
    spine=0.30,
    neck=0.085,
    head_radius=0.062,
    shoulder_width=0.23,
    hip_width=0.17,
    chest_depth=0.11,
    hip_depth=0.10,
    upper_arm=0.17,
    forearm=0.15,
    hand=0.05,
    thigh=0.245,
    shin=0.245,
    foot=0.075)
# Face points in the head's frame, in units of head radius.
FACE_OFFSETS = {
    NOSE: (0.0, -0.2, 1.0),
    L_EYE: (0.38, 0.15, 0.88),
    R_EYE: (-0.38, 0.15, 0.88),
    L_EAR: (1.0, -0.05, -0.1),
    R_EAR: (-1.0, -0.05, -0.1)
}

# The keypoints of each side; sign is the side's direction along the body's X axis.
SIDES = (
    dict(
        name='left',
        sign=1.0,
        arm=(L_SHOULDER, L_ELBOW, L_WRIST),
        leg=(L_HIP, L_KNEE, L_ANKLE),
        eye=L_EYE,
        ear=L_EAR),
    dict(
        name='right',
        sign=-1.0,
        arm=(R_SHOULDER, R_ELBOW, R_WRIST),
        leg=(R_HIP, R_KNEE, R_ANKLE),
        eye=R_EYE,
        ear=R_EAR),
)

DOWN = np.array([0.0, -1.0, 0.0])
UP = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, 1.0])


def _rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _deg(rng, lo, hi):
    return math.radians(rng.uniform(lo, hi))


def _sample_arm(rng):
    """(flexion, abduction, inward rotation, elbow flexion) in radians for one arm."""
    kind = rng.choice(4, p=[0.45, 0.2, 0.15, 0.2])
    if kind == 0:  # hanging
        flex, abd = _deg(rng, -25, 35), _deg(rng, 0, 30)
    elif kind == 1:  # raised
        flex, abd = _deg(rng, 20, 170), _deg(rng, 10, 90)
    elif kind == 2:  # out to the side
        flex, abd = _deg(rng, -10, 40), _deg(rng, 45, 110)
    else:  # reaching forward
        flex, abd = _deg(rng, 40, 110), _deg(rng, -10, 30)
    elbow = _deg(rng, 0, 30) if rng.random() < 0.5 else _deg(rng, 30, 150)
    return flex, abd, _deg(rng, -30, 70), elbow


def _sample_legs(rng):
    """(flexion, abduction, rotation, knee flexion) in radians for (left, right) legs."""
    kind = rng.choice(4, p=[0.4, 0.3, 0.15, 0.15])
    legs = []
    for side in range(2):
        if kind == 0:  # standing
            leg = [_deg(rng, -8, 12), _deg(rng, -4, 12), _deg(rng, -15, 20), _deg(rng, 0, 15)]
        elif kind == 1:  # walking / running: legs apart front to back
            swing = 1 if side == 0 else -1
            leg = [swing * _deg(rng, -5, 40), _deg(rng, -3, 10), _deg(rng, -10, 15), _deg(rng, 0, 70)]
        elif kind == 2:  # wide stance
            leg = [_deg(rng, -10, 20), _deg(rng, 12, 35), _deg(rng, -10, 30), _deg(rng, 0, 40)]
        else:  # one knee lifted or crouching
            leg = [_deg(rng, 40, 100), _deg(rng, -5, 20), _deg(rng, -15, 20), _deg(rng, 40, 130)]
        legs.append(leg)
    if kind == 1 and rng.random() < 0.5:
        legs.reverse()
    if kind == 3 and rng.random() < 0.6:  # only one leg lifted
        legs[int(
            rng.integers(2))] = [_deg(rng, -8, 12),
                                 _deg(rng, -4, 12),
                                 _deg(rng, -15, 20),
                                 _deg(rng, 0, 20)]
    return legs


def _sample_yaw(rng):
    """Body yaw: mostly towards the camera, some profiles, some backs."""
    kind = rng.choice(3, p=[0.5, 0.3, 0.2])
    if kind == 0:
        return _deg(rng, -35, 35)
    if kind == 1:
        return _deg(rng, 35, 115) * (1 if rng.random() < 0.5 else -1)
    return _deg(rng, 140, 220)


def sample_pose(rng):
    """A random 3-D pose, returned in camera frame (x right, y up, z towards the camera).

    Args:
        rng (np.random.Generator): the image's generator.

    Returns:
        dict: ``kpts`` float[K, 3]; ``torso`` float[8, 3] (box corners); ``head``, ``neck``
        float[3], ``hands`` float[2, 3], ``toes`` float[2, 3] (left, right) points; ``head_up``,
        ``head_fwd`` float[3] unit vectors; ``dims`` the body proportions used (height units).
    """
    dims = {k: v * rng.uniform(0.93, 1.07) for k, v in BODY.items()}
    width = rng.uniform(0.85, 1.15)
    for k in ('shoulder_width', 'hip_width', 'chest_depth', 'hip_depth'):
        dims[k] *= width
    kpts = np.zeros((NUM_KEYPOINTS, 3))

    r_chest = _rz(_deg(rng, -10, 10)) @ _rx(_deg(rng, -8, 25)) @ _ry(_deg(rng, -25, 25))
    neck = r_chest @ (UP * dims['spine'])
    for side in SIDES:
        kpts[side['arm'][0]] = neck + r_chest @ np.array(
            [side['sign'] * dims['shoulder_width'] / 2,
             rng.uniform(-0.015, 0.01), 0.0])
        kpts[side['leg'][0]] = np.array([side['sign'] * dims['hip_width'] / 2, 0.0, 0.0])
    chest_x = r_chest @ np.array([dims['shoulder_width'] * 0.55, 0, 0])
    chest_z = r_chest @ np.array([0, 0, dims['chest_depth'] / 2])
    hip_x = np.array([dims['hip_width'] * 0.62, 0, 0])
    hip_z = np.array([0, 0, dims['hip_depth'] / 2])
    pelvis_low = np.array([0, -0.03, 0])
    torso = [neck + sx * chest_x + sz * chest_z for sx in (-1, 1) for sz in (-1, 1)]
    torso += [pelvis_low + sx * hip_x + sz * hip_z for sx in (-1, 1) for sz in (-1, 1)]

    # head
    head = neck + r_chest @ _rx(_deg(rng, -5, 20)) @ (UP * dims['neck'])
    head_turn = _deg(rng, -45, 45) if rng.random() < 0.5 else _deg(rng, -12, 12)
    r_head = r_chest @ _ry(head_turn) @ _rx(_deg(rng, -20, 25)) @ _rz(_deg(rng, -15, 15))
    radius = dims['head_radius']
    for k, offset in FACE_OFFSETS.items():
        kpts[k] = head + r_head @ (np.array(offset) * radius)

    # arms
    hands = np.zeros((2, 3))
    for i, side in enumerate(SIDES):
        (s, e, w), sign = side['arm'], side['sign']
        flex, abd, inward, elbow = _sample_arm(rng)
        r_arm = r_chest @ _rz(sign * abd) @ _rx(-flex) @ _ry(-sign * inward)
        kpts[e] = kpts[s] + r_arm @ DOWN * dims['upper_arm']
        fore = r_arm @ _rx(-elbow) @ DOWN
        kpts[w] = kpts[e] + fore * dims['forearm']
        hands[i] = kpts[w] + fore * dims['hand'] * 0.6

    # legs
    toes = np.zeros((2, 3))
    for i, (side, leg) in enumerate(zip(SIDES, _sample_legs(rng))):
        (h, k, a), sign = side['leg'], side['sign']
        flex, abd, rot, knee = leg
        r_leg = _rz(sign * abd) @ _rx(-flex) @ _ry(sign * rot)
        kpts[k] = kpts[h] + r_leg @ DOWN * dims['thigh']
        r_shin = r_leg @ _rx(knee)
        kpts[a] = kpts[k] + r_shin @ DOWN * dims['shin']
        foot_dir = r_shin @ _rx(_deg(rng, 70, 110)) @ DOWN
        toes[i] = kpts[a] + foot_dir * dims['foot']

    r_cam = _rx(_deg(rng, -8, 15)) @ _ry(_sample_yaw(rng))

    def cam(p):
        return np.asarray(p) @ r_cam.T

    return dict(
        kpts=cam(kpts),
        torso=cam(np.stack(torso)),
        head=cam(head),
        neck=cam(neck),
        hands=cam(hands),
        toes=cam(toes),
        head_up=cam(r_head @ UP),
        head_fwd=cam(r_head @ FORWARD),
        dims=dims)


def project(points, scale, roll, offset):
    """Camera-frame points -> pixel coordinates (x right, y down).

    Args:
        points (np.ndarray): float[..., 3] in height units, y up.
        scale (float): pixels per unit of standing height.
        roll (float): rotation in the image plane, radians.
        offset (np.ndarray): float[2] pixel position of the camera frame's origin (the pelvis).

    Returns:
        np.ndarray: float[..., 2] pixel coordinates.
    """
    points = np.asarray(points, dtype=np.float64)
    xy = points[..., :2] * np.array([scale, -scale])
    c, s = math.cos(roll), math.sin(roll)
    return xy @ np.array([[c, s], [-s, c]]) + offset


def torso_depth(pose):
    """Mean depth of the shoulders and hips: where the torso sits in the painting order."""
    return float(np.mean(pose['kpts'][[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP], 2]))


def face_depth(pose, k):
    """Depth of face point ``k`` relative to the head centre, in head radii (> 0: camera side)."""
    return (pose['kpts'][k, 2] - pose['head'][2]) / pose['dims']['head_radius']
