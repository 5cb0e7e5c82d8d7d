"""Keypoint meta of a dataset: names, flip pairs, skeleton, OKS sigmas and joint weights; every
keypoint constant of the project is defined here, once.

Letters: K keypoints. Flip pairs and skeleton edges are 0-based index pairs ``(i, j)`` into the K
keypoints; ``sigmas`` is ``np.ndarray[K]`` (the per-keypoint constants of COCO's OKS).

A dataset's ``dataset_info`` comes in one of three forms (:func:`load_dataset_info`):

- the short form, ``dict(keypoint_names=..., flip_pairs=..., skeleton=..., sigmas=...,
  joint_weights=...)``, every key optional;
- mmpose 0.x's form, ``dict(keypoint_info={0: dict(name=..., id=0, swap=...), ...},
  skeleton_info={0: dict(link=(name, name), ...), ...}, joint_weights=[...], sigmas=[...])``, inline;
- a string naming a file holding mmpose's form as ``dataset_info = dict(...)``: ``'mmpose::NAME'``
  for one of the files that ship inside the installed mmpose package
  (``mmpose/.mim/configs/_base_/datasets/NAME.py``: coco, crowdpose, mpii, aic, ochuman, halpe, ...),
  or a path to such a ``.py`` file. The file is read as a config (mmcv's ``Config.fromfile``);
  mmpose itself is not imported.
"""
import importlib.util
import os
import os.path as osp

import numpy as np
from mmcv import Config
from mmdet.utils import get_root_logger

# A COCO keypoint's pixel index i is the pixel [i, i + 1) of the continuous frame (CONVENTIONS.md),
# whose centre is i + 0.5.
PIXEL_CENTER_OFFSET = 0.5

COCO_KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                       'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                       'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle')

# COCO's person skeleton, 0-based (COCO's json numbers the keypoints from 1: add one there).
COCO_SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
                 (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))

# The OKS sigmas of the 17 COCO keypoints, as cocoapi's ``COCOeval.Params.setKpParams`` sets them.
COCO_SIGMAS = np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0

# mmdet's Collect meta keys plus the flip pairs the model needs for flip testing.
KEYPOINT_META_KEYS = ('filename', 'ori_filename', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
                      'flip', 'flip_direction', 'img_norm_cfg', 'keypoint_flip_pairs')

DATASET_INFO_KEYS = ('keypoint_names', 'flip_pairs', 'skeleton', 'sigmas', 'joint_weights')

# mmpose 0.x's dataset meta: the keys read, and those that only describe the dataset (ignored).
MMPOSE_INFO_KEYS = ('keypoint_info', 'skeleton_info', 'joint_weights', 'sigmas')
MMPOSE_DESCRIPTIVE_KEYS = ('dataset_name', 'paper_info', 'stats_info')
# ``dataset_info='mmpose::NAME'`` names mmpose's meta file NAME.py in this folder of its package.
MMPOSE_SCOPE = 'mmpose::'
MMPOSE_META_DIR = ('.mim', 'configs', '_base_', 'datasets')

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


def mmpose_meta_file(name):
    """The path of mmpose's meta file ``NAME.py`` in the installed mmpose package (not imported).

    Raises:
        FileNotFoundError: mmpose is not installed, or has no such file (the message lists them).
    """
    spec = importlib.util.find_spec('mmpose')  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"dataset_info='{MMPOSE_SCOPE}{name}': mmpose is not installed")
    folder = osp.join(list(spec.submodule_search_locations)[0], *MMPOSE_META_DIR)
    path = osp.join(folder, name if name.endswith('.py') else name + '.py')
    if not osp.isfile(path):
        available = sorted(f[:-3] for f in (os.listdir(folder) if osp.isdir(folder) else [])
                           if f.endswith('.py'))
        raise FileNotFoundError(f"dataset_info='{MMPOSE_SCOPE}{name}': no {osp.basename(path)} in "
                                f'{folder}; available: {available}')
    return path


def _read_meta_file(dataset_info):
    """The ``dataset_info`` dict of the file a string names (see the module docstring)."""
    path = (
        mmpose_meta_file(dataset_info[len(MMPOSE_SCOPE):])
        if dataset_info.startswith(MMPOSE_SCOPE) else dataset_info)
    if not path.endswith('.py') or not osp.isfile(path):
        raise FileNotFoundError(f"dataset_info='{dataset_info}' is neither '{MMPOSE_SCOPE}NAME' nor "
                                'an existing .py file holding dataset_info = dict(...)')
    cfg = Config.fromfile(path)
    if not isinstance(cfg.get('dataset_info', None), dict):
        raise ValueError(f'{path} defines no dataset_info = dict(...)')
    return cfg['dataset_info'].to_dict()


def _meta_ids(table, what):
    """The entries of an mmpose ``*_info`` table ``{id: dict}``, in id order; ids must be 0..n-1."""
    if not isinstance(table, dict):
        raise ValueError(f'{what} must be a dict {{id: dict(...)}}, got {type(table).__name__}')
    try:
        ids = sorted(int(i) for i in table)
    except (TypeError, ValueError):
        raise ValueError(f'{what} keys must be integer ids, got {list(table)[:5]}') from None
    if ids != list(range(len(ids))):
        raise ValueError(f'{what} ids must be 0..{len(ids) - 1}, got {ids}')
    entries = {int(i): entry for i, entry in table.items()}
    return [entries[i] for i in ids]


def from_mmpose_format(info, source='dataset_info'):
    """The short form of a dataset meta in mmpose 0.x's format, read as mmpose's ``DatasetInfo`` does.

    Keypoint ``k`` is ``keypoint_info[k]``; each keypoint whose ``swap`` names another one makes the
    flip pair ``(k, swap)``, once per pair, in the order mmpose lists them; skeleton edges are the
    ``skeleton_info`` links (names) as index pairs.

    Args:
        info (dict): ``keypoint_info``, optional ``skeleton_info``, ``joint_weights``, ``sigmas``
            (``dataset_name``, ``paper_info`` and ``stats_info`` are ignored).
        source (str): what ``info`` came from, for error messages.

    Returns:
        dict: ``keypoint_names``, ``flip_pairs``, ``skeleton`` and, when given, ``sigmas`` and
        ``joint_weights`` (see :func:`resolve_keypoint_meta`).
    """
    unknown = set(info) - set(MMPOSE_INFO_KEYS) - set(MMPOSE_DESCRIPTIVE_KEYS)
    if unknown:
        raise ValueError(f'{source}: unknown keys {sorted(unknown)} in an mmpose-format dataset_info; '
                         f'allowed: {list(MMPOSE_INFO_KEYS + MMPOSE_DESCRIPTIVE_KEYS)}')
    keypoints = _meta_ids(info['keypoint_info'], f'{source}: keypoint_info')
    names = []
    for k, entry in enumerate(keypoints):
        if not isinstance(entry, dict) or not isinstance(entry.get('name'), str):
            raise ValueError(f'{source}: keypoint_info[{k}] needs a name, got {entry!r:.80}')
        if entry.get('id', k) != k:
            raise ValueError(f"{source}: keypoint_info[{k}] has id={entry['id']}")
        names.append(entry['name'])
    index = {name: k for k, name in enumerate(names)}
    pair_names = []
    for entry in keypoints:
        name, swap = entry['name'], entry.get('swap', '') or ''
        if not swap or swap == name:
            continue
        if swap not in index:
            raise ValueError(f"{source}: keypoint '{name}' swaps with '{swap}', which is not a "
                             f'keypoint ({names})')
        if (swap, name) not in pair_names:
            pair_names.append((name, swap))
    skeleton = []
    for n, entry in enumerate(_meta_ids(info.get('skeleton_info', {}), f'{source}: skeleton_info')):
        link = entry.get('link') if isinstance(entry, dict) else None
        if not isinstance(link, (list, tuple)) or len(link) != 2 or not all(part in index for part in link):
            raise ValueError(f'{source}: skeleton_info[{n}] link {link!r} must name two keypoints '
                             f'of {names}')
        skeleton.append((index[link[0]], index[link[1]]))
    meta = dict(
        keypoint_names=names, flip_pairs=[(index[a], index[b]) for a, b in pair_names], skeleton=skeleton)
    for key in ('sigmas', 'joint_weights'):
        if info.get(key) is not None and len(info[key]):  # mmpose writes [] for none
            meta[key] = list(info[key])
    return meta


def load_dataset_info(dataset_info):
    """Any form of ``dataset_info`` (see the module docstring) as the short form.

    Args:
        dataset_info (dict | str | None): short form, mmpose form, ``'mmpose::NAME'`` or a path.

    Returns:
        dict: a new dict with some of :data:`DATASET_INFO_KEYS`.
    """
    if dataset_info is None:
        return {}
    source = 'dataset_info'
    if isinstance(dataset_info, str):
        source = f"dataset_info='{dataset_info}'"
        dataset_info = _read_meta_file(dataset_info)
    if not isinstance(dataset_info, dict):
        raise ValueError(f'dataset_info must be a dict or a file name, got '
                         f'{type(dataset_info).__name__}')
    if 'keypoint_info' in dataset_info:
        return from_mmpose_format(dataset_info, source)
    unknown = set(dataset_info) - set(DATASET_INFO_KEYS)
    if unknown:
        raise ValueError(f'{source} has unknown keys {sorted(unknown)}; allowed: '
                         f'{list(DATASET_INFO_KEYS)} (or mmpose\'s keypoint_info, skeleton_info, ...)')
    return dict(dataset_info)


def _category_skeleton(category, num_keypoints):
    """The 0-based skeleton of a COCO category (1-based in the json), or None with why it does not
    fit ``num_keypoints`` keypoints."""
    try:
        one_based = _index_pairs(category['skeleton'], num_keypoints + 1, 'category skeleton')
    except ValueError:
        return None, (f'its 1-based indices must lie in [1, {num_keypoints}] for the '
                      f'{num_keypoints} keypoints')
    skeleton = [(i - 1, j - 1) for i, j in one_based]
    if any(min(edge) < 0 for edge in skeleton):
        return None, 'it is not 1-based'
    return skeleton, None


def resolve_keypoint_meta(dataset_info=None, category=None, ann_file=None):
    """Keypoint meta from an explicit ``dataset_info`` or, for what it leaves out, a COCO category.

    Each field comes from ``dataset_info`` when given there, else:

    - ``keypoint_names``: the category's ``keypoints`` list (an error when it has none);
    - ``flip_pairs``: derived from the names (``left_*`` <-> ``right_*``);
    - ``skeleton``: the category's ``skeleton`` (1-based in COCO, made 0-based) when the names are
      the category's own, else empty;
    - ``sigmas``: the COCO-17 OKS sigmas when the names are the 17 COCO names, else an error (a
      K-keypoint dataset other than COCO must state its sigmas);
    - ``joint_weights``: none (every keypoint weighs 1 in the loss).

    A category skeleton that does not fit the keypoints (official CrowdPose files carry COCO's
    17-keypoint skeleton for their 14 keypoints) is only drawn, never trained on: it is left out with
    one warning naming ``ann_file``, and the meta's own skeleton, if any, is used.

    Args:
        dataset_info (dict | str, optional): see :func:`load_dataset_info`; in the short form any of
            ``keypoint_names`` (list[str]), ``flip_pairs`` (list of 0-based (i, j)), ``skeleton``
            (list of 0-based (i, j)), ``sigmas`` (list[float]), ``joint_weights`` (list[float]).
        category (dict, optional): the COCO category of the keypoint-annotated class.
        ann_file (str, optional): the json the category comes from (for messages).

    Returns:
        dict: ``keypoint_names`` (tuple[str], K), ``flip_pairs`` (list[tuple[int, int]]),
        ``skeleton`` (list[tuple[int, int]]), ``sigmas`` (np.ndarray[K], float64),
        ``joint_weights`` (np.ndarray[K], float32, or None).
    """
    info = load_dataset_info(dataset_info)
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

    skeleton = []
    if category.get('skeleton'):
        category_skeleton, misfit = _category_skeleton(category, len(category_names or names))
        if misfit:
            own = 'the dataset meta\'s skeleton is used' if info.get('skeleton') is not None else \
                'no skeleton is drawn'
            get_root_logger().warning(
                f"{ann_file or 'annotation file'}: the person category's skeleton does not fit its "
                f'{len(category_names or names)} keypoints ({misfit}); it is ignored and {own}')
        elif category_names == names:
            skeleton = category_skeleton
    if info.get('skeleton') is not None:
        skeleton = _index_pairs(info['skeleton'], num_keypoints, 'skeleton')

    if info.get('sigmas') is not None:
        sigmas = np.asarray(info['sigmas'], dtype=np.float64).reshape(-1)
    elif names == COCO_KEYPOINT_NAMES:
        sigmas = COCO_SIGMAS.copy()
    else:
        raise ValueError('OKS sigmas are needed for keypoint evaluation; the COCO defaults only apply to the '
                         f'17 COCO keypoints, this dataset has K={num_keypoints} ({list(names)}): give '
                         'dataset_info=dict(sigmas=[...], ...)')
    if sigmas.shape != (num_keypoints, ) or not np.all(sigmas > 0):
        raise ValueError(f'sigmas must be K={num_keypoints} positive numbers, got {sigmas.tolist()}')

    joint_weights = info.get('joint_weights')
    if joint_weights is not None:
        joint_weights = np.asarray(joint_weights, dtype=np.float32).reshape(-1)
        if (joint_weights.shape != (num_keypoints, ) or not np.isfinite(joint_weights).all()
                or (joint_weights < 0).any()):
            raise ValueError(f'joint_weights must be K={num_keypoints} non-negative numbers, got '
                             f'{joint_weights.tolist()}')

    return dict(
        keypoint_names=names,
        flip_pairs=flip_pairs,
        skeleton=skeleton,
        sigmas=sigmas,
        joint_weights=joint_weights)


def coco_keypoint_meta():
    """The meta of COCO's 17 person keypoints (names, derived flip pairs, skeleton, OKS sigmas)."""
    return resolve_keypoint_meta(dict(keypoint_names=COCO_KEYPOINT_NAMES, skeleton=COCO_SKELETON))


# What every checkpoint the project writes carries in its meta (joint_weights too, when a dataset has them).
CHECKPOINT_META_KEYS = ('CLASSES', 'keypoint_names', 'flip_pairs', 'skeleton', 'sigmas')


def keypoint_meta_to_checkpoint(keypoint_meta, classes):
    """The ``meta`` entries a checkpoint carries so that a model of any K is used without its dataset.

    Plain lists, strings and floats only: ``torch.load(weights_only=True)`` (how mmcv loads with torch
    >= 2.6) reads no numpy arrays.

    Args:
        keypoint_meta (dict): as :func:`resolve_keypoint_meta` returns (or a dataset's attributes).
        classes (Sequence[str]): the detector's class names.

    Returns:
        dict: ``CLASSES`` (tuple[str]) and the ``DATASET_INFO_KEYS`` (``joint_weights`` only when set).
    """
    meta = dict(
        CLASSES=tuple(str(c) for c in classes),
        keypoint_names=[str(n) for n in keypoint_meta['keypoint_names']],
        flip_pairs=[[int(i), int(j)] for i, j in keypoint_meta['flip_pairs']],
        skeleton=[[int(i), int(j)] for i, j in keypoint_meta['skeleton']],
        sigmas=[float(s) for s in np.asarray(keypoint_meta['sigmas']).reshape(-1)])
    if keypoint_meta.get('joint_weights') is not None:
        meta['joint_weights'] = [float(w) for w in np.asarray(keypoint_meta['joint_weights']).reshape(-1)]
    return meta


def keypoint_meta_from_checkpoint(meta):
    """The keypoint meta a checkpoint's ``meta`` carries (checked as a dataset's), or None.

    Args:
        meta (dict | None): a checkpoint's ``meta``.

    Returns:
        dict | None: as :func:`resolve_keypoint_meta` returns; None when ``meta`` names no keypoints.
    """
    meta = meta or {}
    if meta.get('keypoint_names') is None:
        return None
    return resolve_keypoint_meta({key: meta[key] for key in DATASET_INFO_KEYS if key in meta})
