"""Synthetic multi-person keypoint images with COCO-format annotations.

``generate_synthetic_coco`` draws articulated figures with the 17 COCO keypoints so that a small
Keypoint R-CNN can be trained and evaluated without the COCO download (``make demo``).

How a figure is made: a kinematic skeleton in 3D (units of standing height; X = the person's left,
Y = up, Z = the direction the person faces) with random proportions and joint angles within human
ranges (spine lean, chest twist, head turn, shoulder flexion/abduction/rotation, elbow, hip, knee),
turned by a random yaw (front, profile and back views), seen by an orthographic camera with a
small pitch, rolled in the image plane, scaled and placed. Parts are painted far to near: the torso
as the convex hull of a box around shoulders and hips, limbs as thick strokes with darker joint
discs at elbows, wrists, knees and ankles, a skin-coloured hand and a dark foot, the head as a disc
with hair, eyes, nose and ears.

Left and right are told apart by colour: the person's LEFT arm, leg, eye and ear are warm
(red .. yellow), the RIGHT ones cool (cyan .. blue), so flip pairs stay unambiguous in back views
too. Torsos are green, purple or grey; heads skin-coloured with dark or blond hair.

Coordinates are COCO's: keypoints are pixel indices (pixel (i, j) has its centre at x=j, y=i; the
dataset adds 0.5 on load, see CONVENTIONS.md) and cv2 draws in that same frame; a box covering the
pixel columns x0..x1 is written x=x0, w=x1-x0+1.

Labels:
    v=2  the keypoint's pixel is painted by a body part it belongs to (the wrist: forearm or hand).
    v=1  inside the image but hidden: under an occluder or another person, behind the person's own
         body (the far shoulder in profile), or a face point just past the outline of the head.
    v=0  written as (0, 0, 0): outside the image, or a face point on the far side of the head (nose
         and eyes in a back view, the far ear in profile), which COCO annotators leave out too.
    bbox is the tight box of the pixels the person covers when drawn alone (amodal, so it does not
    shrink under occluders), clipped to the image, and grown to hold every labelled keypoint;
    area is the number of those pixels (the person's amodal mask inside the image), which
    COCOeval's OKS uses as the squared scale. No segmentation is written.
    Small people (area < ``min_keypoint_area``, by default COCO's 32**2) keep their box but carry no
    keypoints (num_keypoints=0, all (0, 0, 0)), as in COCO, whose annotators left the keypoints of
    small people out; COCOeval then ignores them in keypoint AP (and still counts them in box AP).

Each image has its own generator ``np.random.default_rng([seed, split, index])``, so a seed gives
byte-identical files and image ``i`` of a split does not depend on how many images are made.
"""
import json
import math
import os
import os.path as osp

import cv2
import mmcv
import numpy as np

KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                  'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
# COCO's person skeleton, 1-based as in person_keypoints_*.json
SKELETON = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
            (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7))
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
(NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST,
 L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE) = range(NUM_KEYPOINTS)

SPLITS = ('train', 'val')
JPEG_QUALITY = 95
PNG_COMPRESSION = 3

# Drawn parts; their id + 1 is written into the per-person part layer.
(TORSO, HEAD, NECK, L_UPPER_ARM, R_UPPER_ARM, L_FOREARM, R_FOREARM, L_HAND, R_HAND, L_THIGH,
 R_THIGH, L_SHIN, R_SHIN, L_FOOT, R_FOOT) = range(15)
PARTS_PER_PERSON = 16  # owner code = person * PARTS_PER_PERSON + part + 1; 0 = nobody

# Body proportions in units of standing height (ankle to crown is about 1).
BODY = dict(spine=0.30, neck=0.085, head_radius=0.062, shoulder_width=0.23, hip_width=0.17,
            chest_depth=0.11, hip_depth=0.10, upper_arm=0.17, forearm=0.15, hand=0.05,
            thigh=0.245, shin=0.245, foot=0.075)
# Stroke widths (and radii) in units of standing height.
THICKNESS = dict(neck=0.05, upper_arm=0.052, forearm=0.044, thigh=0.072, shin=0.058, foot=0.036,
                 hand_radius=0.026)
# Face points in the head's frame, in units of head radius.
FACE_OFFSETS = {NOSE: (0.0, -0.2, 1.0), L_EYE: (0.38, 0.15, 0.88), R_EYE: (-0.38, 0.15, 0.88),
                L_EAR: (1.0, -0.05, -0.1), R_EAR: (-1.0, -0.05, -0.1)}
# Depth of a face point behind the head centre (in head radii) beyond which it is not labelled
# (v=0), and beyond which it is no longer seen (v=1).
FACE_UNLABELLED_DEPTH = {NOSE: -0.3, L_EYE: -0.3, R_EYE: -0.3, L_EAR: -0.5, R_EAR: -0.5}
FACE_HIDDEN_DEPTH = {NOSE: 0.0, L_EYE: 0.0, R_EYE: 0.0, L_EAR: -0.25, R_EAR: -0.25}
# A shoulder (hip) under the torso's pixels is hidden by it when the shoulder (hip) line turns away
# from the image plane by more than asin(TORSO_OCCLUSION_SIN), this one being the far end.
TORSO_OCCLUSION_SIN = 0.75
TORSO_JOINT_PAIRS = {L_SHOULDER: R_SHOULDER, R_SHOULDER: L_SHOULDER, L_HIP: R_HIP, R_HIP: L_HIP}

# Colour families, hue in degrees: the person's left side warm, right side cool.
LEFT_HUES = (0.0, 45.0)
RIGHT_HUES = (190.0, 240.0)
TORSO_HUES = ((75.0, 160.0), (265.0, 330.0))

# Drawing details: joint discs (radius / stroke width) and their shade, face marks (head radii).
JOINT_DISC = 0.32
JOINT_SHADE = 0.55
EAR_RADIUS = 0.3
EYE_RADIUS = 0.2
NOSE_RADIUS = 0.16
DEPTH_EPS = 1e-3  # depth nudges that fix the painting order of touching parts

SHIFT = 4  # cv2 fixed-point bits: sub-pixel drawing
ONE = 1 << SHIFT

SIDES = (
    dict(name='left', sign=1.0, arm=(L_SHOULDER, L_ELBOW, L_WRIST), leg=(L_HIP, L_KNEE, L_ANKLE),
         parts=(L_UPPER_ARM, L_FOREARM, L_HAND, L_THIGH, L_SHIN, L_FOOT), eye=L_EYE, ear=L_EAR),
    dict(name='right', sign=-1.0, arm=(R_SHOULDER, R_ELBOW, R_WRIST), leg=(R_HIP, R_KNEE, R_ANKLE),
         parts=(R_UPPER_ARM, R_FOREARM, R_HAND, R_THIGH, R_SHIN, R_FOOT), eye=R_EYE, ear=R_EAR),
)  # sign: the side's direction along the body's X axis

# keypoint -> the parts whose pixels show it
KEYPOINT_PARTS = {
    NOSE: (HEAD, ), L_EYE: (HEAD, ), R_EYE: (HEAD, ), L_EAR: (HEAD, ), R_EAR: (HEAD, ),
    L_SHOULDER: (TORSO, L_UPPER_ARM, NECK), R_SHOULDER: (TORSO, R_UPPER_ARM, NECK),
    L_ELBOW: (L_UPPER_ARM, L_FOREARM), R_ELBOW: (R_UPPER_ARM, R_FOREARM),
    L_WRIST: (L_FOREARM, L_HAND), R_WRIST: (R_FOREARM, R_HAND),
    L_HIP: (TORSO, L_THIGH), R_HIP: (TORSO, R_THIGH),
    L_KNEE: (L_THIGH, L_SHIN), R_KNEE: (R_THIGH, R_SHIN),
    L_ANKLE: (L_SHIN, L_FOOT), R_ANKLE: (R_SHIN, R_FOOT),
}


def coco_categories():
    """The COCO ``categories`` entry for people, with keypoint names and the 1-based skeleton."""
    return [dict(supercategory='person', id=1, name='person', keypoints=list(KEYPOINT_NAMES),
                 skeleton=[list(pair) for pair in SKELETON])]


# ----------------------------------------------------------------------------------------------
# geometry
def _rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


DOWN = np.array([0.0, -1.0, 0.0])
UP = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, 1.0])


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
            leg = [swing * _deg(rng, -5, 40), _deg(rng, -3, 10), _deg(rng, -10, 15),
                   _deg(rng, 0, 70)]
        elif kind == 2:  # wide stance
            leg = [_deg(rng, -10, 20), _deg(rng, 12, 35), _deg(rng, -10, 30), _deg(rng, 0, 40)]
        else:  # one knee lifted or crouching
            leg = [_deg(rng, 40, 100), _deg(rng, -5, 20), _deg(rng, -15, 20), _deg(rng, 40, 130)]
        legs.append(leg)
    if kind == 1 and rng.random() < 0.5:
        legs.reverse()
    if kind == 3 and rng.random() < 0.6:  # only one leg lifted
        legs[int(rng.integers(2))] = [_deg(rng, -8, 12), _deg(rng, -4, 12), _deg(rng, -15, 20),
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


def _sample_pose(rng):
    """A random 3D pose, returned in camera frame (x right, y up, z towards the camera).

    Returns:
        dict: ``kpts`` float[17, 3]; ``torso`` float[8, 3] (box corners); ``head``, ``neck``,
        ``hands`` [2, 3], ``toes`` [2, 3] points; ``head_up``, ``head_fwd`` unit vectors;
        ``dims`` the body proportions used (height units).
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
            [side['sign'] * dims['shoulder_width'] / 2, rng.uniform(-0.015, 0.01), 0.0])
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

    return dict(kpts=cam(kpts), torso=cam(np.stack(torso)), head=cam(head), neck=cam(neck),
                hands=cam(hands), toes=cam(toes), head_up=cam(r_head @ UP),
                head_fwd=cam(r_head @ FORWARD), dims=dims)


# ----------------------------------------------------------------------------------------------
# colours
def _hsv_to_bgr(hue, sat, val):
    """hue in degrees, sat and val in [0, 1] -> BGR tuple in [0, 255]."""
    hue = (hue % 360.0) / 60.0
    c = val * sat
    x = c * (1 - abs(hue % 2 - 1))
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(hue) % 6]
    m = val - c
    return tuple(float(255 * (ch + m)) for ch in reversed(rgb))


def _shade(colour, factor):
    return tuple(float(min(255.0, ch * factor)) for ch in colour)


def _random_colour(rng, sat=(0.0, 1.0), val=(0.1, 1.0)):
    return _hsv_to_bgr(rng.uniform(0, 360), rng.uniform(*sat), rng.uniform(*val))


def _sample_style(rng):
    """Colours of one person (BGR)."""
    style = {}
    for name, hues in (('left', LEFT_HUES), ('right', RIGHT_HUES)):
        hue = rng.uniform(*hues)
        style[name + '_arm'] = _hsv_to_bgr(hue, rng.uniform(0.65, 1.0), rng.uniform(0.6, 1.0))
        hue_leg = np.clip(hue + rng.uniform(-12, 12), *hues)
        style[name + '_leg'] = _hsv_to_bgr(hue_leg, rng.uniform(0.6, 1.0), rng.uniform(0.5, 0.95))
    if rng.random() < 0.8:
        hues = TORSO_HUES[int(rng.integers(len(TORSO_HUES)))]
        style['torso'] = _hsv_to_bgr(rng.uniform(*hues), rng.uniform(0.35, 0.9),
                                     rng.uniform(0.3, 0.9))
    else:  # grey, black or white shirt
        style['torso'] = _hsv_to_bgr(0, 0, rng.uniform(0.1, 0.95))
    style['skin'] = _hsv_to_bgr(rng.uniform(18, 32), rng.uniform(0.25, 0.6),
                                rng.uniform(0.35, 0.95))
    if rng.random() < 0.2:  # blond
        style['hair'] = _hsv_to_bgr(rng.uniform(20, 45), rng.uniform(0.4, 0.7),
                                    rng.uniform(0.75, 0.9))
    else:  # black .. brown
        style['hair'] = _hsv_to_bgr(rng.uniform(0, 40), rng.uniform(0.2, 0.7),
                                    rng.uniform(0.05, 0.35))
    style['shoe'] = _hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0, 0.4), rng.uniform(0.05, 0.3))
    return style


# ----------------------------------------------------------------------------------------------
# drawing
def _fixed(point):
    return int(round(point[0] * ONE)), int(round(point[1] * ONE))


class _Painter:
    """Draws one person: anti-aliased onto the image and, with the same geometry, the part id + 1
    onto an uint8 part layer (aliased), painter's order within the person."""

    def __init__(self, image, layer):
        self.image = image
        self.layer = layer

    def stroke(self, part, p0, p1, width, colour):
        width = max(1, int(round(width)))
        cv2.line(self.image, _fixed(p0), _fixed(p1), colour, width, cv2.LINE_AA, SHIFT)
        cv2.line(self.layer, _fixed(p0), _fixed(p1), part + 1, width, cv2.LINE_8, SHIFT)

    def disc(self, part, centre, radius, colour):
        radius = int(round(max(radius, 0.75) * ONE))
        cv2.circle(self.image, _fixed(centre), radius, colour, -1, cv2.LINE_AA, SHIFT)
        cv2.circle(self.layer, _fixed(centre), radius, part + 1, -1, cv2.LINE_8, SHIFT)

    def polygon(self, part, points, colour):
        pts = np.round(np.asarray(points) * ONE).astype(np.int32)
        hull = cv2.convexHull(pts)
        cv2.fillConvexPoly(self.image, hull, colour, cv2.LINE_AA, SHIFT)
        cv2.fillConvexPoly(self.layer, hull, part + 1, cv2.LINE_8, SHIFT)


def _project(points, scale, roll, offset):
    """Camera-frame points (height units, y up) -> pixel coordinates (x right, y down)."""
    points = np.asarray(points, dtype=np.float64)
    xy = points[..., :2] * np.array([scale, -scale])
    c, s = math.cos(roll), math.sin(roll)
    return xy @ np.array([[c, s], [-s, c]]) + offset


def _draw_limb(painter, part, p0, p1, width, colour, joints):
    """A stroke from p0 to p1 with darker discs on the given joints."""
    painter.stroke(part, p0, p1, width, colour)
    for joint in joints:
        painter.disc(part, joint, JOINT_DISC * width, _shade(colour, JOINT_SHADE))


def _draw_hand(painter, part, wrist, centre, width, skin):
    painter.disc(part, centre, width['hand_radius'], skin)
    painter.disc(part, wrist, JOINT_DISC * width['forearm'], _shade(skin, JOINT_SHADE))


def _draw_person(painter, pose, scale, roll, offset, style):
    """Paint a placed pose, far parts first. Returns float[17, 2] keypoint pixels."""

    def proj(points):
        return _project(points, scale, roll, offset)

    kp = proj(pose['kpts'])
    z = pose['kpts'][:, 2]
    width = {k: v * scale for k, v in THICKNESS.items()}
    torso_z = _torso_depth(pose)
    items = [(torso_z, painter.polygon, (TORSO, proj(pose['torso']), style['torso']))]
    for i, side in enumerate(SIDES):
        (s, e, w), (h, k, a) = side['arm'], side['leg']
        upper_arm, forearm, hand, thigh, shin, foot = side['parts']
        arm, leg = style[side['name'] + '_arm'], style[side['name'] + '_leg']
        items += [  # (depth, draw, args), painted in increasing depth
            ((z[s] + z[e]) / 2, _draw_limb,
             (painter, upper_arm, kp[s], kp[e], width['upper_arm'], arm, [kp[e]])),
            ((z[e] + z[w]) / 2, _draw_limb,
             (painter, forearm, kp[e], kp[w], width['forearm'], arm, [kp[e], kp[w]])),
            (z[w] + DEPTH_EPS, _draw_hand,
             (painter, hand, kp[w], proj(pose['hands'][i]), width, style['skin'])),
            ((z[h] + z[k]) / 2, _draw_limb,
             (painter, thigh, kp[h], kp[k], width['thigh'], leg, [kp[k]])),
            ((z[k] + z[a]) / 2, _draw_limb,
             (painter, shin, kp[k], kp[a], width['shin'], leg, [kp[k], kp[a]])),
            (z[a] - DEPTH_EPS, painter.stroke,
             (foot, kp[a], proj(pose['toes'][i]), width['foot'], style['shoe'])),
        ]
    head_z = max(float(pose['head'][2]), torso_z + DEPTH_EPS)  # the head is never under the torso
    items += [(head_z - DEPTH_EPS / 2, painter.stroke,
               (NECK, proj(pose['neck']), proj(pose['head']), width['neck'], style['skin'])),
              (head_z, _draw_head, (painter, pose, proj, scale, kp, style))]
    for _, draw, args in sorted(items, key=lambda item: item[0]):
        draw(*args)
    return kp


def _torso_depth(pose):
    return float(np.mean(pose['kpts'][[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP], 2]))


def _face_depth(pose, k):
    """Depth of face point ``k`` relative to the head centre, in head radii (> 0: camera side)."""
    return (pose['kpts'][k, 2] - pose['head'][2]) / pose['dims']['head_radius']


def _draw_head(painter, pose, proj, scale, kp, style):
    """Head disc in skin with a hair cap (behind the face, or over the head seen from the back),
    ears, eyes (side colours) and nose on the camera side."""
    radius = scale * pose['dims']['head_radius']
    centre = proj(pose['head'])
    up = (proj(pose['head'] + pose['head_up']) - centre) / scale  # projected unit vectors
    fwd = (proj(pose['head'] + pose['head_fwd']) - centre) / scale
    ears = [(side['ear'], style[side['name'] + '_arm']) for side in SIDES
            if _face_depth(pose, side['ear']) > FACE_UNLABELLED_DEPTH[side['ear']]]
    for ear, colour in ears:  # ears behind the head's centre peek out from under it
        if _face_depth(pose, ear) < 0:
            painter.disc(HEAD, kp[ear], EAR_RADIUS * radius, colour)
    if pose['head_fwd'][2] >= 0:
        painter.disc(HEAD, centre + radius * (0.3 * up - 0.5 * fwd), radius, style['hair'])
        painter.disc(HEAD, centre, radius, style['skin'])
    else:
        painter.disc(HEAD, centre, radius, style['skin'])
        painter.disc(HEAD, centre + radius * (0.1 * up - 0.35 * fwd), radius, style['hair'])
    for ear, colour in ears:
        if _face_depth(pose, ear) >= 0:
            painter.disc(HEAD, kp[ear], EAR_RADIUS * radius, colour)
    for side in SIDES:
        if _face_depth(pose, side['eye']) > 0:
            painter.disc(HEAD, kp[side['eye']], EYE_RADIUS * radius,
                         _shade(style[side['name'] + '_arm'], 0.8))
    if _face_depth(pose, NOSE) > 0:
        painter.disc(HEAD, kp[NOSE], NOSE_RADIUS * radius, _shade(style['skin'], JOINT_SHADE))


def _draw_background(rng, height, width):
    """Gradient + low-frequency texture + clutter (lines, shapes) that is not a person."""
    corners = np.array([_random_colour(rng) for _ in range(4)], dtype=np.float32).reshape(2, 2, 3)
    image = cv2.resize(corners, (width, height), interpolation=cv2.INTER_LINEAR)
    grid = (int(rng.integers(3, 10)), ) * 2
    texture = rng.normal(0, 1, (grid[0], grid[1], 3)).astype(np.float32)
    texture = cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)
    image += texture * rng.uniform(0, 30)
    image = np.clip(image, 0, 255).astype(np.uint8)
    size = min(height, width)
    for _ in range(int(rng.integers(3, 16))):
        colour = _random_colour(rng)
        kind = rng.integers(6)
        p0 = _fixed(rng.uniform(-0.1, 1.1, 2) * (width, height))
        p1 = _fixed(rng.uniform(-0.1, 1.1, 2) * (width, height))
        extent = rng.uniform(0.03, 0.25) * size
        if kind == 0:  # straight line
            cv2.line(image, p0, p1, colour, int(rng.integers(1, 7)), cv2.LINE_AA, SHIFT)
        elif kind == 1:  # rectangle, filled or outlined
            cv2.rectangle(image, p0, _fixed(np.array(p0) / ONE + rng.uniform(-1, 1, 2) * extent),
                          colour, -1 if rng.random() < 0.6 else int(rng.integers(1, 4)),
                          cv2.LINE_AA, SHIFT)
        elif kind == 2:  # circle
            cv2.circle(image, p0, int(extent * ONE / 2), colour,
                       -1 if rng.random() < 0.6 else int(rng.integers(1, 4)), cv2.LINE_AA, SHIFT)
        elif kind == 3:  # ellipse
            cv2.ellipse(image, p0, (int(extent * ONE), int(extent * ONE * rng.uniform(0.2, 1))),
                        rng.uniform(0, 180), 0, 360, colour, -1, cv2.LINE_AA, SHIFT)
        elif kind == 4:  # wavy curve
            t = np.linspace(0, 1, 24)[:, None]
            pts = (np.array(p0) * (1 - t) + np.array(p1) * t
                   + ONE * extent * 0.3 * np.sin(t * rng.uniform(3, 12) + rng.uniform(0, 6)))
            cv2.polylines(image, [pts.astype(np.int32)], False, colour, int(rng.integers(1, 5)),
                          cv2.LINE_AA, SHIFT)
        else:  # random polygon
            pts = np.array(p0) + rng.uniform(-1, 1, (int(rng.integers(3, 7)), 2)) * extent * ONE
            cv2.fillPoly(image, [pts.astype(np.int32)], colour, cv2.LINE_AA, SHIFT)
    return image


def _draw_occluder(rng, image, owner, centre, size):
    """Paint a solid or striped blob, rectangle or ellipse of about ``size`` pixels over
    ``centre``; the pixels it covers lose their owner."""
    height, width = owner.shape
    mask = np.zeros((height, width), np.uint8)
    kind = rng.integers(3)
    c = _fixed(centre)
    if kind == 0:  # rotated rectangle
        w, h = size * rng.uniform(0.3, 1.0), size * rng.uniform(0.3, 1.0)
        corners = cv2.boxPoints(((float(centre[0]), float(centre[1])), (w, h),
                                 rng.uniform(0, 90) if rng.random() < 0.5 else 0.0))
        cv2.fillConvexPoly(mask, np.round(corners * ONE).astype(np.int32), 255, cv2.LINE_AA, SHIFT)
    elif kind == 1:  # ellipse
        axes = (int(size * ONE * rng.uniform(0.2, 0.5)), int(size * ONE * rng.uniform(0.15, 0.5)))
        cv2.ellipse(mask, c, axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, SHIFT)
    else:  # star-shaped blob
        n = int(rng.integers(6, 12))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = size * rng.uniform(0.2, 0.5, n)
        pts = np.asarray(centre) + np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None]
        cv2.fillPoly(mask, [np.round(pts * ONE).astype(np.int32)], 255, cv2.LINE_AA, SHIFT)
    texture = np.empty_like(image)
    texture[:] = np.array(_random_colour(rng, val=(0.15, 1.0)), dtype=np.uint8)
    if rng.random() < 0.4:  # stripes
        period = int(rng.integers(3, 10))
        stripes = (np.add.outer(np.arange(height), np.arange(width)) // period) % 2 == 1
        texture[stripes] = np.array(_random_colour(rng), dtype=np.uint8)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    image[:] = (image * (1 - alpha) + texture * alpha + 0.5).astype(np.uint8)
    owner[mask >= 128] = 0


# ----------------------------------------------------------------------------------------------
# one image
# Two people overlap too much (one would mostly hide the other) when their boxes' IoU, or their
# intersection over the smaller box, is above these.
MAX_PERSON_IOU = 0.4
MAX_PERSON_IOMIN = 0.6


def _overlap_ok(a, b):
    """Whether boxes (x0, y0, x1, y1) ``a`` and ``b`` may both hold a person."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    return (inter <= MAX_PERSON_IOU * (area_a + area_b - inter)
            and inter <= MAX_PERSON_IOMIN * min(area_a, area_b))


# A person may stick out of the image by up to MAX_CUT of its size (with probability CUT_PROB).
CUT_PROB = 0.3
MAX_CUT = 0.4


def _place_people(rng, height, width, person_height, max_persons):
    """Sample poses and their placement: list of (pose, scale, roll, offset)."""
    num = int(rng.integers(1, max_persons + 1))
    lo, hi = person_height
    hi = max(lo, hi * (1 - 0.1 * (num - 1)))  # crowds are made of smaller people
    size = min(height, width)
    people, boxes = [], []
    for _ in range(num):
        for _attempt in range(10):
            pose = _sample_pose(rng)
            scale = rng.uniform(lo, hi) * size
            roll = math.radians(float(np.clip(rng.normal(0, 10), -30, 30)))
            pts = np.concatenate([pose['kpts'], pose['torso'], pose['hands'], pose['toes'],
                                  pose['head'][None]])
            xy = _project(pts, scale, roll, np.zeros(2))
            pad = scale * BODY['head_radius']
            x0, y0 = xy.min(0) - pad
            x1, y1 = xy.max(0) + pad
            bw, bh = x1 - x0, y1 - y0
            cut = MAX_CUT if rng.random() < CUT_PROB else 0.0  # allowed fraction outside
            lo_x, hi_x = -x0 - cut * bw, width - 1 - x1 + cut * bw
            lo_y, hi_y = -y0 - cut * bh, height - 1 - y1 + cut * bh
            if boxes and rng.random() < 0.5:  # next to someone already there
                ref = boxes[int(rng.integers(len(boxes)))]
                tx = (ref[0] + ref[2]) / 2 - (x0 + x1) / 2 + rng.uniform(-0.8, 0.8) * bw
                ty = ref[3] - y1 + rng.uniform(-0.3, 0.2) * bh
            else:
                tx, ty = rng.uniform((lo_x, lo_y), (hi_x, hi_y))
            tx = float(np.clip(tx, *sorted((lo_x, hi_x))))
            ty = float(np.clip(ty, *sorted((lo_y, hi_y))))
            box = (x0 + tx, y0 + ty, x1 + tx, y1 + ty)
            if all(_overlap_ok(box, b) for b in boxes):
                people.append((pose, scale, roll, np.array([tx, ty])))
                boxes.append(box)
                break
    # farther (smaller) people first, with some shuffling
    order = np.argsort([p[1] * rng.uniform(0.8, 1.25) for p in people], kind='stable')
    return [people[i] for i in order]


def _label_person(pose, kp, person, owner, mask):
    """Keypoints (x, y, v), bbox and area of one drawn person (see the module's docstring).

    Args:
        pose (dict): its 3D pose (``_sample_pose``).
        kp (np.ndarray): float[17, 2] its keypoints in pixel indices.
        person (int): its index in the owner codes.
        owner (np.ndarray): int16[H, W] owner code of every pixel of the final image.
        mask (np.ndarray): bool[H, W] the pixels it covers drawn alone.
    """
    height, width = owner.shape
    keypoints = np.zeros((NUM_KEYPOINTS, 3))
    for k in range(NUM_KEYPOINTS):
        x, y = kp[k]
        if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
            continue
        hidden = False
        if k in FACE_OFFSETS:
            depth = _face_depth(pose, k)
            if depth <= FACE_UNLABELLED_DEPTH[k]:
                continue
            hidden = depth < FACE_HIDDEN_DEPTH[k]
        code = int(owner[int(round(y)), int(round(x))])
        part = code - person * PARTS_PER_PERSON - 1
        shown = 0 <= part < PARTS_PER_PERSON - 1 and part in KEYPOINT_PARTS[k]
        if part == TORSO and k in TORSO_JOINT_PAIRS:
            line = pose['kpts'][TORSO_JOINT_PAIRS[k]] - pose['kpts'][k]
            shown = line[2] < TORSO_OCCLUSION_SIN * np.linalg.norm(line)
        keypoints[k] = (x, y, 1 if hidden or not shown else 2)

    ys, xs = np.nonzero(mask)
    labelled = keypoints[:, 2] > 0
    lx = np.round(keypoints[labelled, 0]).astype(int)
    ly = np.round(keypoints[labelled, 1]).astype(int)
    xs, ys = np.concatenate([xs, lx]), np.concatenate([ys, ly])
    if len(xs) == 0:
        return None
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return dict(keypoints=keypoints, bbox=[int(x0), int(y0), int(x1 - x0), int(y1 - y0)],
                area=int(mask.sum()))


def _post_process(rng, image):
    """Camera effects: contrast/brightness, blur, noise."""
    out = image.astype(np.float32) * rng.uniform(0.8, 1.15) + rng.uniform(-20, 20)
    if rng.random() < 0.4:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.0))
    out += rng.normal(0, rng.uniform(0, 8), out.shape).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def synthesize_image(rng, image_size=(256, 256), person_height=(0.18, 0.8), max_persons=4,
                     max_occluders=3):
    """Draw one image.

    Args:
        rng (np.random.Generator): the image's own generator.
        image_size (tuple[int]): (H, W).
        person_height (tuple[float]): range of standing heights, fraction of min(H, W).
        max_persons (int): 1 .. max_persons people.
        max_occluders (int): 0 .. max_occluders occluders.

    Returns:
        tuple: uint8 BGR image [H, W, 3] and a list of dicts (keypoints float[17, 3] as pixel
        indices, bbox [x, y, w, h] ints, area int), one per person drawn.
    """
    height, width = image_size
    assert max_persons * PARTS_PER_PERSON < np.iinfo(np.int16).max, 'owner codes are int16'
    image = _draw_background(rng, height, width)
    owner = np.zeros((height, width), np.int16)
    drawn = []
    for person, (pose, scale, roll, offset) in enumerate(
            _place_people(rng, height, width, person_height, max_persons)):
        layer = np.zeros((height, width), np.uint8)
        kp = _draw_person(_Painter(image, layer), pose, scale, roll, offset, _sample_style(rng))
        mask = layer > 0
        owner[mask] = person * PARTS_PER_PERSON + layer[mask]
        drawn.append((pose, scale, kp, mask))

    num_occluders = int(rng.choice(max_occluders + 1, p=_occluder_probs(max_occluders)))
    for _ in range(num_occluders):
        if drawn and rng.random() < 0.8:  # over a random joint of a random person
            pose, scale, kp, _ = drawn[int(rng.integers(len(drawn)))]
            centre = kp[int(rng.integers(NUM_KEYPOINTS))] + rng.normal(0, 0.05 * scale, 2)
            size = scale * rng.uniform(0.15, 0.5)
        else:
            centre = rng.uniform(0, 1, 2) * (width, height)
            size = min(height, width) * rng.uniform(0.1, 0.35)
        _draw_occluder(rng, image, owner, centre, size)

    people = []
    for person, (pose, scale, kp, mask) in enumerate(drawn):
        label = _label_person(pose, kp, person, owner, mask)
        if label is not None:
            people.append(label)
    return _post_process(rng, image), people


def _occluder_probs(max_occluders):
    """Probabilities of 0 .. max_occluders occluders in an image."""
    probs = [0.35, 0.35, 0.2, 0.1][:max_occluders + 1] + [0.05] * max(0, max_occluders - 3)
    return np.array(probs) / sum(probs)


# ----------------------------------------------------------------------------------------------
# data set
def _coco_keypoints(keypoints):
    """float[K, 3] -> COCO's flat list: x, y rounded to 1/100 pixel, v an int; (0, 0, 0) if v=0."""
    flat = []
    for x, y, v in keypoints:
        flat += [round(float(x), 2), round(float(y), 2), int(v)] if v > 0 else [0, 0, 0]
    return flat


def generate_synthetic_coco(out_dir, num_train, num_val, seed=0, image_size=(256, 256),
                            person_height=(0.18, 0.8), max_persons=4, max_occluders=3,
                            min_keypoint_area=32**2, img_ext='.jpg', preview=True,
                            progress=True):
    """Write a synthetic COCO-keypoints data set.

    Layout::

        out_dir/images/{train,val}/000000000001.jpg ...
        out_dir/annotations/person_keypoints_{train,val}.json
        out_dir/preview.png            (if ``preview``)

    Args:
        out_dir (str): root folder (created).
        num_train (int): number of train images.
        num_val (int): number of val images.
        seed (int): a seed gives byte-identical files.
        image_size (tuple[int]): (H, W) of every image.
        person_height (tuple[float]): standing height range, fraction of min(H, W).
        max_persons (int): each image shows 1 .. max_persons people.
        max_occluders (int): each image has 0 .. max_occluders occluders.
        min_keypoint_area (int): people whose area is smaller keep their box but no keypoints
            (COCO's convention for small people); 0 labels everybody.
        img_ext (str): '.jpg' (quality 95) or '.png'.
        preview (bool): also save a grid of train images with their ground truth drawn.
        progress (bool): show a progress bar.

    Returns:
        dict: ``{'train': {...}, 'val': {...}, 'preview': path or None}`` where each split has
        ``ann_file``, ``img_prefix`` and counts ``num_images``, ``num_persons``, ``num_keypoints``
        (labelled, v > 0), ``num_visible`` (v=2), ``num_occluded`` (v=1), ``num_unlabelled`` (v=0).
    """
    assert img_ext in ('.jpg', '.png'), img_ext
    encode = ([cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if img_ext == '.jpg' else
              [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    height, width = (int(v) for v in image_size)
    out = {}
    for split_index, (split, num) in enumerate(zip(SPLITS, (num_train, num_val))):
        img_prefix = osp.join(out_dir, 'images', split)
        ann_file = osp.join(out_dir, 'annotations', f'person_keypoints_{split}.json')
        os.makedirs(img_prefix, exist_ok=True)
        os.makedirs(osp.dirname(ann_file), exist_ok=True)
        images, annotations = [], []
        bar = None
        if progress and num > 0:
            print(f'synthetic {split}:')
            bar = mmcv.ProgressBar(num)
        for index in range(num):
            rng = np.random.default_rng([int(seed), split_index, index])
            image, people = synthesize_image(rng, (height, width), person_height, max_persons,
                                             max_occluders)
            image_id = index + 1
            file_name = f'{image_id:012d}{img_ext}'
            ok, data = cv2.imencode(img_ext, image, encode)
            assert ok, file_name
            with open(osp.join(img_prefix, file_name), 'wb') as f:
                f.write(data.tobytes())
            images.append(dict(id=image_id, file_name=file_name, height=height, width=width))
            for person in people:
                if person['area'] < min_keypoint_area:
                    person = dict(person, keypoints=np.zeros_like(person['keypoints']))
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_id, category_id=1,
                    bbox=person['bbox'], area=person['area'], iscrowd=0,
                    num_keypoints=int((person['keypoints'][:, 2] > 0).sum()),
                    keypoints=_coco_keypoints(person['keypoints'])))
            if bar is not None:
                bar.update()
        if bar is not None:
            print()
        dataset = dict(
            info=dict(description=f'mmhrkpt synthetic people, {split}, seed {seed}',
                      version='1.0', year=2024),
            licenses=[], images=images, annotations=annotations, categories=coco_categories())
        with open(ann_file, 'w') as f:
            json.dump(dataset, f, separators=(',', ':'))
        vis = np.array([a['keypoints'][2::3] for a in annotations]).reshape(-1)
        out[split] = dict(ann_file=ann_file, img_prefix=img_prefix, num_images=len(images),
                          num_persons=len(annotations), num_keypoints=int((vis > 0).sum()),
                          num_visible=int((vis == 2).sum()), num_occluded=int((vis == 1).sum()),
                          num_unlabelled=int((vis == 0).sum()),
                          num_small=sum(a['area'] < min_keypoint_area for a in annotations))
    out['preview'] = None
    if preview and num_train > 0:
        out['preview'] = osp.join(out_dir, 'preview.png')
        save_preview(out['train']['ann_file'], out['train']['img_prefix'], out['preview'])
    return out


# ----------------------------------------------------------------------------------------------
# preview
PREVIEW_COLOURS = dict(left=(0, 255, 0), right=(255, 0, 255), centre=(0, 255, 255))


def _side(name):
    return 'left' if name.startswith('left') else 'right' if name.startswith('right') else 'centre'


def draw_annotations(image, annotations, zoom=2):
    """``image`` enlarged ``zoom`` times with COCO person annotations drawn: bbox white, the left
    side green, the right side magenta, the nose yellow; v=2 keypoints filled, v=1 hollow."""
    out = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    for ann in annotations:
        # pixel index -> continuous (+0.5) -> zoomed -> zoomed pixel index (-0.5)
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        xy = (kpts[:, :2] + 0.5) * zoom - 0.5
        x, y, w, h = ann['bbox']
        cv2.rectangle(out, (x * zoom, y * zoom), ((x + w) * zoom - 1, (y + h) * zoom - 1),
                      (255, 255, 255), 1)
        for i, j in SKELETON:
            i, j = i - 1, j - 1
            if kpts[i, 2] > 0 and kpts[j, 2] > 0:
                side_i, side_j = _side(KEYPOINT_NAMES[i]), _side(KEYPOINT_NAMES[j])
                colour = PREVIEW_COLOURS[side_i if side_i == side_j else 'centre']
                cv2.line(out, _fixed(xy[i]), _fixed(xy[j]), colour, 1, cv2.LINE_AA, SHIFT)
        for k in np.nonzero(kpts[:, 2] > 0)[0]:
            cv2.circle(out, _fixed(xy[k]), int(1.25 * zoom * ONE),
                       PREVIEW_COLOURS[_side(KEYPOINT_NAMES[k])], -1 if kpts[k, 2] == 2 else 1,
                       cv2.LINE_AA, SHIFT)
    return out


def save_preview(ann_file, img_prefix, out_file, num_images=8, zoom=2, columns=4):
    """Save a grid of the first ``num_images`` images of ``ann_file``, each shown raw and then
    with its annotations drawn (``draw_annotations``), enlarged ``zoom`` times."""
    with open(ann_file) as f:
        dataset = json.load(f)
    tiles = []
    for info in dataset['images'][:num_images]:
        image = cv2.imread(osp.join(img_prefix, info['file_name']))
        anns = [a for a in dataset['annotations'] if a['image_id'] == info['id']]
        tiles += [draw_annotations(image, [], zoom), draw_annotations(image, anns, zoom)]
    gap = 4
    tile_h, tile_w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (tile_h + gap), columns * (tile_w + gap), 3), 255, np.uint8)
    for n, tile in enumerate(tiles):
        r, c = divmod(n, columns)
        y, x = r * (tile_h + gap), c * (tile_w + gap)
        grid[y:y + tile_h, x:x + tile_w] = tile
    cv2.imwrite(out_file, grid)
    return out_file
