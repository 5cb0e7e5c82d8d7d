"""Validation and parsing of COCO person annotations, all annotations of a file at once.

Letters: M annotations, K keypoints.

A COCO-sized file (260,000 persons) is checked with a few numpy operations over stacked arrays; only
when they find something wrong is each annotation looked at on its own, to name the first malformed
one (its id, its image id, the field and what is wrong) in the same words whatever the file's size.
"""
import numbers

import numpy as np

# COCOeval reads these from every ground truth; a json may leave them out.
SCALAR_FIELDS = ('area', 'iscrowd', 'num_keypoints')
VISIBILITY_FLAGS = (0, 1, 2)


def is_number(value):
    """A finite real number that is not a bool."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value))


def number_array(value):
    """``value`` as ``np.ndarray[L]`` when it is a flat list of finite numbers, else None."""
    if not isinstance(value, (list, tuple)):
        return None
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nesting
        return None
    if arr.ndim != 1 or arr.dtype.kind not in 'iuf' or not np.isfinite(arr).all():
        return None
    return arr.astype(np.float64)


def describe_bad_list(value):
    """Why ``value`` is not a flat list of finite numbers (for error messages)."""
    if not isinstance(value, (list, tuple)):
        return f'must be a list of numbers, got {type(value).__name__} {value!r:.60}'
    bad = next((v for v in value if not is_number(v)), None)
    return f'has a non-numeric or non-finite value {bad!r:.60}'


def malformed(ann, ann_file, field, problem):
    """The ValueError naming a malformed annotation."""
    return ValueError(f"malformed annotation id={ann.get('id')} (image id={ann.get('image_id')}) in "
                      f"{ann_file}: field '{field}' {problem}")


def check_annotation(ann, num_keypoints, ann_file):
    """Validate one person annotation (a ValueError naming it and the field otherwise).

    Returns:
        tuple: ``bbox`` (np.ndarray[4], x y w h) and ``keypoints`` (np.ndarray[K, 3], the raw COCO
        values).
    """
    bbox = number_array(ann.get('bbox'))
    if bbox is None or bbox.shape != (4, ):
        problem = (
            describe_bad_list(ann.get('bbox'))
            if bbox is None else f'must be 4 numbers [x, y, w, h], got {len(bbox)}')
        raise malformed(ann, ann_file, 'bbox', problem)
    if 'keypoints' not in ann:
        raise malformed(ann, ann_file, 'keypoints', 'is missing')
    flat = number_array(ann['keypoints'])
    if flat is None:
        raise malformed(ann, ann_file, 'keypoints', describe_bad_list(ann['keypoints']))
    if len(flat) % 3:
        raise malformed(ann, ann_file, 'keypoints',
                        f'has {len(flat)} values, not a multiple of 3 (x, y, v triplets)')
    if len(flat) != 3 * num_keypoints:
        raise malformed(
            ann, ann_file, 'keypoints', f'has {len(flat)} values = {len(flat) // 3} keypoints, '
            f'expected 3*K = {3 * num_keypoints} (the dataset meta has K={num_keypoints})')
    keypoints = flat.reshape(num_keypoints, 3)
    visibility = keypoints[:, 2]
    if not np.isin(visibility, VISIBILITY_FLAGS).all():
        raise malformed(ann, ann_file, 'keypoints', 'has visibility flags other than 0, 1, 2: '
                        f'{sorted(set(visibility.tolist()))}')
    for field in SCALAR_FIELDS:
        if field in ann and not is_number(ann[field]):
            raise malformed(ann, ann_file, field, f'must be a number, got {ann[field]!r:.60}')
    return bbox, keypoints


def _stack(values, width):
    """``values`` (M lists) as float64[M, width] when all are ``width`` finite numbers, else None."""
    try:
        arr = np.array(values)
    except (ValueError, TypeError):  # ragged
        return None
    if arr.dtype.kind not in 'iuf' or arr.shape != (len(values), width):
        return None
    arr = arr.astype(np.float64, copy=False)
    return arr if np.isfinite(arr).all() else None


def _scalars_ok(anns, field):
    values = [ann[field] for ann in anns if field in ann]
    if not all(type(v) in (int, float) for v in values):  # bools, strings, None, ... look closer
        return False
    return bool(np.isfinite(np.asarray(values, dtype=np.float64)).all())


def _stack_valid(anns, num_keypoints):
    """The stacked boxes and keypoints when every annotation is well-formed, else None."""
    try:
        boxes, flat = [ann['bbox'] for ann in anns], [ann['keypoints'] for ann in anns]
    except KeyError:
        return None
    bboxes = _stack(boxes, 4)
    keypoints = _stack(flat, 3 * num_keypoints)
    if bboxes is None or keypoints is None:
        return None
    keypoints = keypoints.reshape(len(anns), num_keypoints, 3)
    if not np.isin(keypoints[..., 2], VISIBILITY_FLAGS).all():
        return None
    if not all(_scalars_ok(anns, field) for field in SCALAR_FIELDS):
        return None
    return bboxes, keypoints


def parse_annotations(anns, num_keypoints, ann_file):
    """Validate the person annotations ``anns`` together and fill what COCOeval needs.

    ``iscrowd`` (0), ``area`` (the box's) and ``num_keypoints`` (the labelled ones) are added to the
    annotations that lack them, in place, as COCOeval reads them from the ground truth.

    Args:
        anns (list[dict]): M COCO annotations.
        num_keypoints (int): K.
        ann_file (str): their file, for error messages.

    Returns:
        tuple: ``bboxes`` np.ndarray[M, 4] (x, y, w, h), ``keypoints`` np.ndarray[M, K, 3] (raw COCO
        values), ``iscrowd`` np.ndarray[M] (bool), all float64 but the last.

    Raises:
        ValueError: naming the first malformed annotation, its image and the field.
    """
    stacked = _stack_valid(anns, num_keypoints)
    if stacked is None:
        # something is wrong: find and name it (each annotation on its own, in order)
        checked = [check_annotation(ann, num_keypoints, ann_file) for ann in anns]
        stacked = (np.array([bbox for bbox, _ in checked]).reshape(-1, 4),
                   np.array([kpts for _, kpts in checked]).reshape(-1, num_keypoints, 3))
    bboxes, keypoints = stacked
    labelled = np.count_nonzero(keypoints[..., 2] > 0, axis=1)
    for ann, box, count in zip(anns, bboxes, labelled):
        if 'iscrowd' not in ann or 'area' not in ann or 'num_keypoints' not in ann:
            ann.setdefault('iscrowd', 0)
            ann.setdefault('area', float(box[2] * box[3]))
            ann.setdefault('num_keypoints', int(count))
    iscrowd = np.array([bool(ann['iscrowd']) for ann in anns], dtype=bool)
    return bboxes, keypoints, iscrowd
