"""Keypoint meta of a dataset: names, flip pairs, skeleton and OKS sigmas; every keypoint constant of
the project is defined here, once.

Letters: K keypoints. Flip pairs and skeleton edges are 0-based index pairs ``(i, j)`` into the K
keypoints; ``sigmas`` is ``np.ndarray[K]`` (the per-keypoint constants of COCO's OKS).
"""
import numpy as np

# A COCO keypoint's pixel index i is the pixel [i, i + 1) of the continuous frame (CONVENTIONS.md),
# whose centre is i + 0.5.
PIXEL_CENTER_OFFSET = 0.5

COCO_KEYPOINT_NAMES = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle')

# COCO's person skeleton, 0-based (COCO's json numbers the keypoints from 1: add one there).
COCO_SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
                 (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))

# The OKS sigmas of the 17 COCO keypoints, as cocoapi's ``COCOeval.Params.setKpParams`` sets them.
COCO_SIGMAS = np.array([
    .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89
]) / 10.0

# mmdet's Collect meta keys plus the flip pairs the model needs for flip testing.
KEYPOINT_META_KEYS = ('filename', 'ori_filename', 'ori_shape', 'img_shape', 'pad_shape',
                      'scale_factor', 'flip', 'flip_direction', 'img_norm_cfg',
                      'keypoint_flip_pairs')

DATASET_INFO_KEYS = ('keypoint_names', 'flip_pairs', 'skeleton', 'sigmas')

LEFT_PREFIX = 'left_'
RIGHT_PREFIX = 'right_'


def derive_flip_pairs(keypoint_names):
    """Pair every ``left_<part>`` keypoint with its ``right_<part>``.

    Args:
        keypoint_names (Sequence[str]): K names.

    Returns:
        list[tuple[int, int]]: (left index, right index), in the order of the left keypoints.
    """
    index = {name: i for i, name in enumerate(keypoint_names)}
    pairs = []
    for i, name in enumerate(keypoint_names):
        if name.startswith(LEFT_PREFIX):
            j = index.get(RIGHT_PREFIX + name[len(LEFT_PREFIX):])
            if j is not None:
                pairs.append((i, j))
    return pairs


def _index_pairs(pairs, num_keypoints, what):
    """``pairs`` as a list of (i, j) with 0 <= i, j < K, else a ValueError naming ``what``."""
    try:
        arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        if arr.size != 2 * len(pairs):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f'{what} must be a list of (i, j) index pairs, got {pairs!r}') from None
    if arr.size and (arr.min() < 0 or arr.max() >= num_keypoints):
        raise ValueError(f'{what} {pairs!r} has an index outside [0, K={num_keypoints})')
    return [(int(i), int(j)) for i, j in arr]


def resolve_keypoint_meta(dataset_info=None, category=None):
    """Keypoint meta from an explicit ``dataset_info`` or, for what it leaves out, a COCO category.

    Each field comes from ``dataset_info`` when given there, else:

    - ``keypoint_names``: the category's ``keypoints`` list (an error when it has none);
    - ``flip_pairs``: derived from the names (``left_*`` <-> ``right_*``);
    - ``skeleton``: the category's ``skeleton`` (1-based in COCO, made 0-based) when the names are
      the category's own, else empty;
    - ``sigmas``: the COCO-17 OKS sigmas when the names are the 17 COCO names, else an error (a
      K-keypoint dataset other than COCO must state its sigmas).

    Args:
        dataset_info (dict, optional): any of ``keypoint_names`` (list[str]), ``flip_pairs``
            (list of 0-based (i, j)), ``skeleton`` (list of 0-based (i, j)), ``sigmas``
            (list[float]).
        category (dict, optional): the COCO category of the keypoint-annotated class.

    Returns:
        dict: ``keypoint_names`` (tuple[str], K), ``flip_pairs`` (list[tuple[int, int]]),
        ``skeleton`` (list[tuple[int, int]]), ``sigmas`` (np.ndarray[K], float64).
    """
    info = dict(dataset_info or {})
    unknown = set(info) - set(DATASET_INFO_KEYS)
    if unknown:
        raise ValueError(f'dataset_info has unknown keys {sorted(unknown)}; '
                         f'allowed: {list(DATASET_INFO_KEYS)}')
    category = category or {}
    category_names = tuple(category.get('keypoints') or ())

    names = info.get('keypoint_names')
    if names is None:
        if not category_names:
            raise ValueError('no keypoint names: give dataset_info=dict(keypoint_names=[...], ...) '
                             "or a 'keypoints' list in the annotation file's category")
        names = category_names
    names = tuple(str(n) for n in names)
    num_keypoints = len(names)
    if num_keypoints == 0 or len(set(names)) != num_keypoints:
        raise ValueError(f'keypoint_names must be non-empty and unique, got {list(names)}')

    if info.get('flip_pairs') is not None:
        flip_pairs = _index_pairs(info['flip_pairs'], num_keypoints, 'flip_pairs')
    else:
        flip_pairs = derive_flip_pairs(names)
    flat = [i for pair in flip_pairs for i in pair]
    if len(set(flat)) != len(flat) or any(i == j for i, j in flip_pairs):
        raise ValueError(f'flip_pairs {flip_pairs} must pair distinct keypoints, each at most once')

    if info.get('skeleton') is not None:
        skeleton = _index_pairs(info['skeleton'], num_keypoints, 'skeleton')
    elif category.get('skeleton') and category_names == names:
        # COCO numbers the skeleton's keypoints from 1.
        one_based = _index_pairs(category['skeleton'], num_keypoints + 1, 'category skeleton')
        skeleton = [(i - 1, j - 1) for i, j in one_based]
        if any(min(edge) < 0 for edge in skeleton):
            raise ValueError(f"category skeleton {category['skeleton']} is not 1-based")
    else:
        skeleton = []

    if info.get('sigmas') is not None:
        sigmas = np.asarray(info['sigmas'], dtype=np.float64).reshape(-1)
    elif names == COCO_KEYPOINT_NAMES:
        sigmas = COCO_SIGMAS.copy()
    else:
        raise ValueError(
            'OKS sigmas are needed for keypoint evaluation; the COCO defaults only apply to the '
            f'17 COCO keypoints, this dataset has K={num_keypoints} ({list(names)}): give '
            'dataset_info=dict(sigmas=[...], ...)')
    if sigmas.shape != (num_keypoints, ) or not np.all(sigmas > 0):
        raise ValueError(
            f'sigmas must be K={num_keypoints} positive numbers, got {sigmas.tolist()}')

    return dict(keypoint_names=names, flip_pairs=flip_pairs, skeleton=skeleton, sigmas=sigmas)
