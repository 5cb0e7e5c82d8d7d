"""Helpers over mmdet's dataset wrappers."""


def leaf_datasets(dataset):
    """The datasets inside mmdet's dataset wrappers (Concat, Repeat, ClassBalanced, ...)."""
    if hasattr(dataset, 'datasets'):
        return [leaf for d in dataset.datasets for leaf in leaf_datasets(d)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]
