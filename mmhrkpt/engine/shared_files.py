"""A record of skipped image files shared by a training process and its data loader workers."""
import multiprocessing
import os

from mmhrkpt.datasets.utils import leaf_datasets


class SharedFileSet:
    """A set of a dataset's image files shared by a process and its data loader workers: one byte
    per image in shared memory (inherited by forked workers, handed to spawned ones), no server
    process to outlive a killed run. It offers what ``CocoKeypointDataset.skipped_files`` needs of
    a set: ``add``, ``in``, ``len``, iteration.

    With a plain set each worker keeps its own record, and non-persistent workers start a new one
    every epoch: a bad file would be named once per worker and epoch, and the training process
    would never know of it.

    Args:
        paths (list[str]): every file the set may hold (others are kept in this process only).
        initial (Iterable[str]): files already in the set.
    """

    def __init__(self, paths, initial=()):
        self._paths = list(paths)
        self._index = {path: i for i, path in enumerate(self._paths)}
        self._flags = multiprocessing.RawArray('b', len(self._paths))
        self._others = set()
        for path in initial:
            self.add(path)

    def add(self, path):
        i = self._index.get(path)
        if i is None:
            self._others.add(path)
        else:
            self._flags[i] = 1

    def __contains__(self, path):
        i = self._index.get(path)
        return path in self._others if i is None else bool(self._flags[i])

    def __len__(self):
        return sum(self._flags) + len(self._others)

    def __iter__(self):
        flagged = [path for path, flag in zip(self._paths, self._flags) if flag]
        return iter(flagged + sorted(self._others))


def share_skipped_files(datasets, num_workers):
    """Give the datasets that keep ``skipped_files`` a record shared with their data loader
    workers (nothing to do without workers)."""
    if num_workers <= 0:
        return
    for leaf in (leaf for ds in datasets for leaf in leaf_datasets(ds)):
        if isinstance(getattr(leaf, 'skipped_files', None), set):
            prefix = getattr(leaf, 'img_prefix', None)
            paths = [
                info['filename'] if prefix is None else os.path.join(prefix, info['filename'])
                for info in leaf.data_infos
            ]
            leaf.skipped_files = SharedFileSet(paths, leaf.skipped_files)
