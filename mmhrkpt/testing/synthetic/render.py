"""Rendering: a person's colours, the painter, people, heads, background, occluders, their
placement in an image, and the labels read back from what was painted.

Parts are painted far to near: the torso as the convex hull of a box around shoulders and hips,
limbs as thick strokes with darker joint discs at elbows, wrists, knees and ankles, a skin-coloured
hand and a dark foot, the head as a disc with hair, eyes, nose and ears. Left and right are told
apart by colour: the person's LEFT arm, leg, eye and ear are warm (red .. yellow), the RIGHT ones
cool (cyan .. blue), so flip pairs stay unambiguous in back views too. Torsos are green, purple or
grey; heads skin-coloured with dark or blond hair.

Coordinates are COCO's: keypoints are pixel indices (pixel (i, j) has its centre at x=j, y=i; the
dataset adds 0.5 on load, see CONVENTIONS.md) and cv2 draws in that same frame; a box covering the
pixel columns x0..x1 is written x=x0, w=x1-x0+1.

Labels (``synthesize_image``'s people):
    v=2  the keypoint's pixel is painted by a body part it belongs to (the wrist: forearm or hand).
    v=1  inside the image but hidden: under an occluder or another person, behind the person's own
         body (the far shoulder in profile), or a face point just past the outline of the head.
    v=0  (0, 0, 0): outside the image, or a face point on the far side of the head (nose and eyes in a back
         view, the far ear in profile), which COCO annotators leave out too.
    bbox is the tight box of the pixels the person covers when drawn alone (amodal, so it does not
    shrink under occluders), clipped to the image, and grown to hold every labelled keypoint;
    area is the number of those pixels (the person's amodal mask inside the image), which
    COCOeval's OKS uses as the squared scale.

Letters: K = 17 COCO keypoints; (H, W) the image.
"""
import math

import cv2
import numpy as np

from mmhrkpt.testing.synthetic.figure import (BODY, FACE_OFFSETS, L_ANKLE, L_EAR, L_ELBOW, L_EYE, L_HIP,
                                              L_KNEE, L_SHOULDER, L_WRIST, NOSE, NUM_KEYPOINTS, R_ANKLE,
                                              R_EAR, R_ELBOW, R_EYE, R_HIP, R_KNEE, R_SHOULDER, R_WRIST,
                                              SIDES, face_depth, project, sample_pose, torso_depth)

# Drawn parts; their id + 1 is written into the per-person part layer.
(TORSO, HEAD, NECK, L_UPPER_ARM, R_UPPER_ARM, L_FOREARM, R_FOREARM, L_HAND, R_HAND, L_THIGH, R_THIGH, L_SHIN,
 R_SHIN, L_FOOT, R_FOOT) = range(15)
PARTS_PER_PERSON = 16  # owner code = person * PARTS_PER_PERSON + part + 1; 0 = nobody
# side name -> its (upper arm, forearm, hand, thigh, shin, foot) parts
SIDE_PARTS = dict(
    left=(L_UPPER_ARM, L_FOREARM, L_HAND, L_THIGH, L_SHIN, L_FOOT),
    right=(R_UPPER_ARM, R_FOREARM, R_HAND, R_THIGH, R_SHIN, R_FOOT))
# keypoint -> the parts whose pixels show it
KEYPOINT_PARTS = {
    NOSE: (HEAD, ),
    L_EYE: (HEAD, ),
    R_EYE: (HEAD, ),
    L_EAR: (HEAD, ),
    R_EAR: (HEAD, ),
    L_SHOULDER: (TORSO, L_UPPER_ARM, NECK),
    R_SHOULDER: (TORSO, R_UPPER_ARM, NECK),
    L_ELBOW: (L_UPPER_ARM, L_FOREARM),
    R_ELBOW: (R_UPPER_ARM, R_FOREARM),
    L_WRIST: (L_FOREARM, L_HAND),
    R_WRIST: (R_FOREARM, R_HAND),
    L_HIP: (TORSO, L_THIGH),
    R_HIP: (TORSO, R_THIGH),
    L_KNEE: (L_THIGH, L_SHIN),
    R_KNEE: (R_THIGH, R_SHIN),
    L_ANKLE: (L_SHIN, L_FOOT),
    R_ANKLE: (R_SHIN, R_FOOT),
}

# Stroke widths (and radii) in units of standing height.
THICKNESS = dict(
    neck=0.05, upper_arm=0.052, forearm=0.044, thigh=0.072, shin=0.058, foot=0.036, hand_radius=0.026)
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
        style['torso'] = _hsv_to_bgr(rng.uniform(*hues), rng.uniform(0.35, 0.9), rng.uniform(0.3, 0.9))
    else:  # grey, black or white shirt
        style['torso'] = _hsv_to_bgr(0, 0, rng.uniform(0.1, 0.95))
    style['skin'] = _hsv_to_bgr(rng.uniform(18, 32), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.95))
    if rng.random() < 0.2:  # blond
        style['hair'] = _hsv_to_bgr(rng.uniform(20, 45), rng.uniform(0.4, 0.7), rng.uniform(0.75, 0.9))
    else:  # black .. brown
        style['hair'] = _hsv_to_bgr(rng.uniform(0, 40), rng.uniform(0.2, 0.7), rng.uniform(0.05, 0.35))
    style['shoe'] = _hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0, 0.4), rng.uniform(0.05, 0.3))
    return style


# ----------------------------------------------------------------------------------------------
# drawing
def fixed_point(point):
    """(x, y) pixels -> cv2's integer coordinates with ``SHIFT`` fractional bits."""
    return int(round(point[0] * ONE)), int(round(point[1] * ONE))


class _Painter:
    """Draws one person: anti-aliased onto the image and, with the same geometry, the part id + 1
    onto an uint8 part layer (aliased), painter's order within the person."""

    def __init__(self, image, layer):
        self.image = image
        self.layer = layer

    def stroke(self, part, p0, p1, width, colour):
        width = max(1, int(round(width)))
        cv2.line(self.image, fixed_point(p0), fixed_point(p1), colour, width, cv2.LINE_AA, SHIFT)
        cv2.line(self.layer, fixed_point(p0), fixed_point(p1), part + 1, width, cv2.LINE_8, SHIFT)

    def disc(self, part, centre, radius, colour):
        radius = int(round(max(radius, 0.75) * ONE))
        cv2.circle(self.image, fixed_point(centre), radius, colour, -1, cv2.LINE_AA, SHIFT)
        cv2.circle(self.layer, fixed_point(centre), radius, part + 1, -1, cv2.LINE_8, SHIFT)

    def polygon(self, part, points, colour):
        pts = np.round(np.asarray(points) * ONE).astype(np.int32)
        hull = cv2.convexHull(pts)
        cv2.fillConvexPoly(self.image, hull, colour, cv2.LINE_AA, SHIFT)
        cv2.fillConvexPoly(self.layer, hull, part + 1, cv2.LINE_8, SHIFT)


def _draw_limb(painter, part, p0, p1, width, colour, joints):
    """A stroke from p0 to p1 with darker discs on the given joints."""
    painter.stroke(part, p0, p1, width, colour)
    for joint in joints:
        painter.disc(part, joint, JOINT_DISC * width, _shade(colour, JOINT_SHADE))


def _draw_hand(painter, part, wrist, centre, width, skin):
    painter.disc(part, centre, width['hand_radius'], skin)
    painter.disc(part, wrist, JOINT_DISC * width['forearm'], _shade(skin, JOINT_SHADE))


def _draw_person(painter, pose, scale, roll, offset, style):
    """Paint a placed pose, far parts first. Returns float[K, 2] keypoint pixels."""

    def proj(points):
        return project(points, scale, roll, offset)

    kp = proj(pose['kpts'])
    z = pose['kpts'][:, 2]
    width = {k: v * scale for k, v in THICKNESS.items()}
    torso_z = torso_depth(pose)
    items = [(torso_z, painter.polygon, (TORSO, proj(pose['torso']), style['torso']))]
    for i, side in enumerate(SIDES):
        (s, e, w), (h, k, a) = side['arm'], side['leg']
        upper_arm, forearm, hand, thigh, shin, foot = SIDE_PARTS[side['name']]
        arm, leg = style[side['name'] + '_arm'], style[side['name'] + '_leg']
        items += [  # (depth, draw, args), painted in increasing depth
            ((z[s] + z[e]) / 2, _draw_limb, (painter, upper_arm, kp[s], kp[e], width['upper_arm'], arm,
                                             [kp[e]])),
            ((z[e] + z[w]) / 2, _draw_limb, (painter, forearm, kp[e], kp[w], width['forearm'], arm,
                                             [kp[e], kp[w]])),
            (z[w] + DEPTH_EPS, _draw_hand, (painter, hand, kp[w], proj(pose['hands'][i]), width,
                                            style['skin'])),
            ((z[h] + z[k]) / 2, _draw_limb, (painter, thigh, kp[h], kp[k], width['thigh'], leg, [kp[k]])),
            ((z[k] + z[a]) / 2, _draw_limb, (painter, shin, kp[k], kp[a], width['shin'], leg, [kp[k],
                                                                                               kp[a]])),
            (z[a] - DEPTH_EPS, painter.stroke, (foot, kp[a], proj(pose['toes'][i]), width['foot'],
                                                style['shoe'])),
        ]
    head_z = max(float(pose['head'][2]), torso_z + DEPTH_EPS)  # the head is never under the torso
    items += [(head_z - DEPTH_EPS / 2, painter.stroke, (NECK, proj(pose['neck']), proj(pose['head']),
                                                        width['neck'], style['skin'])),
              (head_z, _draw_head, (painter, pose, proj, scale, kp, style))]
    for _, draw, args in sorted(items, key=lambda item: item[0]):
        draw(*args)
    return kp


def _draw_head(painter, pose, proj, scale, kp, style):
    """Head disc in skin with a hair cap (behind the face, or over the head seen from the back),
    ears, eyes (side colours) and nose on the camera side."""
    radius = scale * pose['dims']['head_radius']
    centre = proj(pose['head'])
    up = (proj(pose['head'] + pose['head_up']) - centre) / scale  # projected unit vectors
    fwd = (proj(pose['head'] + pose['head_fwd']) - centre) / scale
    ears = [(side['ear'], style[side['name'] + '_arm']) for side in SIDES
            if face_depth(pose, side['ear']) > FACE_UNLABELLED_DEPTH[side['ear']]]
    for ear, colour in ears:  # ears behind the head's centre peek out from under it
        if face_depth(pose, ear) < 0:
            painter.disc(HEAD, kp[ear], EAR_RADIUS * radius, colour)
    if pose['head_fwd'][2] >= 0:
        painter.disc(HEAD, centre + radius * (0.3 * up - 0.5 * fwd), radius, style['hair'])
        painter.disc(HEAD, centre, radius, style['skin'])
    else:
        painter.disc(HEAD, centre, radius, style['skin'])
        painter.disc(HEAD, centre + radius * (0.1 * up - 0.35 * fwd), radius, style['hair'])
    for ear, colour in ears:
        if face_depth(pose, ear) >= 0:
            painter.disc(HEAD, kp[ear], EAR_RADIUS * radius, colour)
    for side in SIDES:
        if face_depth(pose, side['eye']) > 0:
            painter.disc(HEAD, kp[side['eye']], EYE_RADIUS * radius, _shade(style[side['name'] + '_arm'],
                                                                            0.8))
    if face_depth(pose, NOSE) > 0:
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
        p0 = fixed_point(rng.uniform(-0.1, 1.1, 2) * (width, height))
        p1 = fixed_point(rng.uniform(-0.1, 1.1, 2) * (width, height))
        extent = rng.uniform(0.03, 0.25) * size
        if kind == 0:  # straight line
            cv2.line(image, p0, p1, colour, int(rng.integers(1, 7)), cv2.LINE_AA, SHIFT)
        elif kind == 1:  # rectangle, filled or outlined
            cv2.rectangle(image, p0, fixed_point(np.array(p0) / ONE + rng.uniform(-1, 1, 2) * extent), colour,
                          -1 if rng.random() < 0.6 else int(rng.integers(1, 4)), cv2.LINE_AA, SHIFT)
        elif kind == 2:  # circle
            cv2.circle(image, p0, int(extent * ONE / 2), colour,
                       -1 if rng.random() < 0.6 else int(rng.integers(1, 4)), cv2.LINE_AA, SHIFT)
        elif kind == 3:  # ellipse
            cv2.ellipse(image, p0, (int(extent * ONE), int(extent * ONE * rng.uniform(0.2, 1))),
                        rng.uniform(0, 180), 0, 360, colour, -1, cv2.LINE_AA, SHIFT)
        elif kind == 4:  # wavy curve
            t = np.linspace(0, 1, 24)[:, None]
            pts = (
                np.array(p0) * (1 - t) + np.array(p1) * t +
                ONE * extent * 0.3 * np.sin(t * rng.uniform(3, 12) + rng.uniform(0, 6)))
            cv2.polylines(image, [pts.astype(np.int32)], False, colour, int(rng.integers(1, 5)), cv2.LINE_AA,
                          SHIFT)
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
    c = fixed_point(centre)
    if kind == 0:  # rotated rectangle
        w, h = size * rng.uniform(0.3, 1.0), size * rng.uniform(0.3, 1.0)
        corners = cv2.boxPoints(
            ((float(centre[0]), float(centre[1])), (w, h), rng.uniform(0, 90) if rng.random() < 0.5 else 0.0))
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
            pose = sample_pose(rng)
            scale = rng.uniform(lo, hi) * size
            roll = math.radians(float(np.clip(rng.normal(0, 10), -30, 30)))
            pts = np.concatenate(
                [pose['kpts'], pose['torso'], pose['hands'], pose['toes'], pose['head'][None]])
            xy = project(pts, scale, roll, np.zeros(2))
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
        pose (dict): its 3D pose (``figure.sample_pose``).
        kp (np.ndarray): float[K, 2] its keypoints in pixel indices.
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
            depth = face_depth(pose, k)
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
    return dict(
        keypoints=keypoints, bbox=[int(x0), int(y0), int(x1 - x0),
                                   int(y1 - y0)], area=int(mask.sum()))


def _post_process(rng, image):
    """Camera effects: contrast/brightness, blur, noise."""
    out = image.astype(np.float32) * rng.uniform(0.8, 1.15) + rng.uniform(-20, 20)
    if rng.random() < 0.4:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.0))
    out += rng.normal(0, rng.uniform(0, 8), out.shape).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def synthesize_image(rng, image_size=(256, 256), person_height=(0.18, 0.8), max_persons=4, max_occluders=3):
    """Draw one image.

    Args:
        rng (np.random.Generator): the image's own generator.
        image_size (tuple[int]): (H, W).
        person_height (tuple[float]): range of standing heights, fraction of min(H, W).
        max_persons (int): 1 .. max_persons people.
        max_occluders (int): 0 .. max_occluders occluders.

    Returns:
        tuple: uint8 BGR image [H, W, 3] and a list of dicts (keypoints float[K, 3] as pixel
        indices, bbox [x, y, w, h] ints, area int), one per person drawn.
    """
    height, width = image_size
    max_people = (np.iinfo(np.int16).max - 1) // PARTS_PER_PERSON  # owner codes are int16
    if not 1 <= max_persons <= max_people:
        raise ValueError(f'max_persons must be in 1 .. {max_people}, got {max_persons}')
    if max_occluders < 0:
        raise ValueError(f'max_occluders must be >= 0, got {max_occluders}')
    image = _draw_background(rng, height, width)
    owner = np.zeros((height, width), np.int16)
    drawn = []
    for person, (pose, scale, roll,
                 offset) in enumerate(_place_people(rng, height, width, person_height, max_persons)):
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
