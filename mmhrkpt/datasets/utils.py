"""Helpers over mmdet's dataset wrappers."""


def leaf_datasets(dataset):
    """The datasets inside mmdet's dataset wrappers (Concat, Repeat, ClassBalanced, ...)."""
    if hasattr(dataset, 'datasets'):
        return [leaf for d in dataset.datasets for leaf in leaf_datasets(d)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


def dataset_checkpoint_meta(dataset):
    """What a checkpoint trained on ``dataset`` carries in its meta: ``CLASSES`` and the keypoint meta
    (names, flip pairs, skeleton, sigmas) of its first keypoint dataset (wrappers looked through).

    Raises:
        ValueError: no dataset inside ``dataset`` has keypoint meta.
    """
    from .keypoint_meta import DATASET_INFO_KEYS, keypoint_meta_to_checkpoint
    for leaf in leaf_datasets(dataset):
        if all(hasattr(leaf, key) for key in DATASET_INFO_KEYS):
            return keypoint_meta_to_checkpoint({key: getattr(leaf, key)
                                                for key in DATASET_INFO_KEYS}, leaf.CLASSES)
    raise ValueError(f'{type(dataset).__name__} has no keypoint meta ({", ".join(DATASET_INFO_KEYS)}) '
                     'for the checkpoints to carry')
