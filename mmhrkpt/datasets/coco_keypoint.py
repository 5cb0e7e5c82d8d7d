"""COCO-format person keypoint dataset (``person_keypoints_*.json``) for mmdet 2.x.

Letters: n persons of an image, K keypoints (any K: the meta says how many).

Coordinates (CONVENTIONS.md): COCO keypoints are integer pixel indices; here a labelled keypoint
becomes (x + 0.5, y + 0.5, v) in mmdet's continuous frame, an unlabelled one (v = 0) is (0, 0, 0),
and results are written back with x - 0.5, y - 0.5. Boxes are continuous in COCO already.
"""
import os.path as osp
import tempfile
from collections import Counter, OrderedDict

import numpy as np
from mmdet.datasets.builder import DATASETS
from mmdet.datasets.coco import CocoDataset
from mmdet.utils import get_root_logger

from mmhrkpt.core.evaluation.keypoint_eval import (KeypointCOCO, dump_json, evaluate_keypoint_results,
                                                   keypoint_results_to_json)
from .coco_parsing import is_number, parse_annotations
from .keypoint_meta import PIXEL_CENTER_OFFSET, resolve_keypoint_meta
from .pipelines.loading import ImageLoadError

INSTANCE_DROP_REASONS = ('crowd', 'zero_area_box', 'too_few_keypoints', 'ignore_flag')
IMAGE_DROP_REASONS = ('no_person', 'too_small')


@DATASETS.register_module()
class CocoKeypointDataset(CocoDataset):
    """Persons with boxes and K keypoints from a COCO keypoint json.

    ``get_ann_info(idx)`` returns ``bboxes`` (float32[n, 4], x1 y1 x2 y2), ``labels`` (int64[n]),
    ``bboxes_ignore`` (float32[m, 4], the crowd regions) and ``keypoints`` (float32[n, K, 3],
    (x, y, v), row i belongs to box i). All annotations are parsed and validated when the dataset is
    built, so a malformed one fails before training with a ValueError naming the annotation id,
    the image id and the field.

    Filtering (counted by reason in ``dropped_instances`` / ``dropped_images`` and logged once):

    - boxes narrower or lower than 1 pixel or outside the image (mmdet's rule): dropped,
      ``zero_area_box``;
    - crowd annotations (iscrowd=1): become ``bboxes_ignore``, counted as ``crowd``;
    - training only (``test_mode=False``): persons with fewer than ``min_keypoints`` labelled
      keypoints (v > 0) are dropped (``too_few_keypoints``), and with ``filter_empty_gt`` images
      left without a person (``no_person``) or smaller than 32 pixels (``too_small``) too.
      Test mode keeps every image and every person with a valid box.

    During training an image file that is missing or cannot be decoded is skipped: a warning names
    it (once per file), ``skipped_files`` records it, and another image of the same aspect group is
    returned, as mmdet does for a pipeline that returns None. (Each dataloader worker keeps its
    own record.) In test mode such a file is an error naming it.

    Args:
        ann_file (str): the COCO keypoint json.
        pipeline (list[dict]): processing pipeline.
        dataset_info (dict | str, optional): the keypoint meta: the short form
            ``dict(keypoint_names, flip_pairs, skeleton, sigmas, joint_weights)`` (0-based pairs),
            mmpose 0.x's form (``keypoint_info``, ``skeleton_info``, ...), ``'mmpose::NAME'`` (a
            meta file of the installed mmpose, e.g. ``'mmpose::crowdpose'``) or the path of such a
            file; what is left out comes from the json's person category (see
            :func:`~mmhrkpt.datasets.keypoint_meta.resolve_keypoint_meta`).
        min_keypoints (int): a training person needs at least this many labelled keypoints.
            Default: 1.
        **kwargs: mmdet ``CustomDataset`` arguments (``img_prefix``, ``test_mode``, ...).

    Attributes:
        num_keypoints (int): K.
        keypoint_names (tuple[str]): K names.
        flip_pairs (list[tuple[int, int]]): left/right pairs swapped by a horizontal flip.
        skeleton (list[tuple[int, int]]): 0-based limbs.
        sigmas (np.ndarray): [K] OKS sigmas used by :meth:`evaluate`.
        joint_weights (np.ndarray | None): [K] weights of the keypoints in the heatmap loss (training
            hands them to the keypoint head), None when the meta gives none.
        skipped_files (set[str]): image files skipped during training.
    """

    CLASSES = ('person', )
    PALETTE = [(220, 20, 60)]

    def __init__(self, ann_file, pipeline, dataset_info=None, min_keypoints=1, **kwargs):
        if int(min_keypoints) != min_keypoints or min_keypoints < 0:
            raise ValueError(f'min_keypoints must be a non-negative integer, got {min_keypoints}')
        self.dataset_info = dataset_info
        self.min_keypoints = int(min_keypoints)
        self.skipped_files = set()
        self.dropped_instances = dict.fromkeys(INSTANCE_DROP_REASONS, 0)
        self.dropped_images = dict.fromkeys(IMAGE_DROP_REASONS, 0)
        super().__init__(ann_file, pipeline, **kwargs)
        self._log_load_summary()

    # ----------------------------------------------------------------------------------- loading
    def load_annotations(self, ann_file):
        """Load, validate and parse every person annotation of ``ann_file``, all at once.

        The persons of all images are kept in flat arrays in image order (``get_ann_info`` slices
        them): a COCO-sized file costs little more than pycocotools' own indexing.

        Returns:
            list[dict]: the COCO image infos (with ``filename``).
        """
        self.coco = KeypointCOCO(ann_file)
        self.cat_ids = self.coco.get_cat_ids(cat_names=self.CLASSES)
        if not self.cat_ids:
            raise ValueError(f'{ann_file} has no category named {self.CLASSES}')
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        category = self.coco.load_cats(self.cat_ids[0])[0]
        meta = resolve_keypoint_meta(self.dataset_info, category, ann_file)
        self.keypoint_names = meta['keypoint_names']
        self.num_keypoints = len(self.keypoint_names)
        self.flip_pairs = meta['flip_pairs']
        self.skeleton = meta['skeleton']
        self.sigmas = meta['sigmas']
        self.joint_weights = meta['joint_weights']

        self.img_ids = self.coco.get_img_ids()
        data_infos = []
        for img_id in self.img_ids:
            info = self.coco.imgs[img_id]
            self._check_image_info(info)
            info['filename'] = info['file_name']
            data_infos.append(info)
        self._slot_of_image = {img_id: slot for slot, img_id in enumerate(self.img_ids)}
        self._parse_persons(ann_file, data_infos)
        return data_infos

    def _check_image_info(self, info):
        for field in ('width', 'height'):
            if not is_number(info.get(field)) or info[field] <= 0:
                raise ValueError(f"malformed image id={info.get('id')} in {self.ann_file}: field "
                                 f"'{field}' must be a positive number, got {info.get(field)!r}")
        if not isinstance(info.get('file_name'), str):
            raise ValueError(f"malformed image id={info.get('id')} in {self.ann_file}: field "
                             f"'file_name' must be a string, got {info.get('file_name')!r}")

    def _image_order(self, ann_file):
        """The person annotations, in image order (the file's order within an image), and the slot
        (index into ``img_ids``) of each; errors for repeated ids and unknown images."""
        anns = self.coco.dataset.get('annotations', [])
        slots = np.array([self._slot_of_image.get(ann['image_id'], -1) for ann in anns], dtype=np.int64)
        ids = [ann['id'] for ann, slot in zip(anns, slots) if slot >= 0]
        if len(set(ids)) != len(ids):
            duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
            raise ValueError(f'{ann_file}: annotation ids are not unique: {duplicates[:10]}')
        if (slots < 0).any():
            orphans = sorted(ann['id'] for ann, slot in zip(anns, slots) if slot < 0)
            raise ValueError(f'{ann_file}: annotations {orphans[:10]} refer to image ids that are '
                             "not in 'images'")
        persons = np.array([ann.get('category_id') in self.cat2label for ann in anns], dtype=bool)
        order = np.flatnonzero(persons)[np.argsort(slots[persons], kind='stable')]
        return [anns[i] for i in order], slots[order]

    def _parse_persons(self, ann_file, data_infos):
        """Validate and filter every person (see the class docstring) into the flat arrays that
        :meth:`get_ann_info` slices: boxes x1 y1 x2 y2, labels, keypoints (x, y, v) in the
        continuous frame, crowd regions, and per image offsets into them."""
        anns, slots = self._image_order(ann_file)
        bboxes, raw, iscrowd = parse_annotations(anns, self.num_keypoints, ann_file)
        x1, y1, w, h = bboxes.T
        width = np.array([info['width'] for info in data_infos], dtype=np.float64)[slots]
        height = np.array([info['height'] for info in data_infos], dtype=np.float64)[slots]
        inter_w = np.maximum(0, np.minimum(x1 + w, width) - np.maximum(x1, 0))
        inter_h = np.maximum(0, np.minimum(y1 + h, height) - np.maximum(y1, 0))
        labelled = raw[..., 2] > 0  # [M, K]
        # each reason counts the persons the reasons before it kept
        ignored = np.array([bool(ann.get('ignore', False)) for ann in anns], dtype=bool)
        zero_area = ~ignored & ((inter_w * inter_h == 0) | (w < 1) | (h < 1))
        crowd = ~ignored & ~zero_area & iscrowd
        kept = ~ignored & ~zero_area & ~crowd
        too_few = kept & (np.count_nonzero(labelled, axis=1) < self.min_keypoints)
        if self.test_mode:
            too_few[:] = False
        kept &= ~too_few
        for reason, mask in (('ignore_flag', ignored), ('zero_area_box', zero_area), ('crowd', crowd),
                             ('too_few_keypoints', too_few)):
            self.dropped_instances[reason] += int(np.count_nonzero(mask))

        corners = np.concatenate([bboxes[:, :2], bboxes[:, :2] + bboxes[:, 2:]], 1)
        keypoints = np.where(labelled[..., None], raw, 0.0)[kept]
        keypoints[..., :2] += PIXEL_CENTER_OFFSET * labelled[kept][..., None]
        self._persons = dict(
            bboxes=corners[kept].astype(np.float32),
            labels=np.array([self.cat2label[ann['category_id']] for ann, keep in zip(anns, kept) if keep],
                            dtype=np.int64),
            keypoints=keypoints.astype(np.float32))
        self._crowds = corners[crowd].astype(np.float32)
        for array in (*self._persons.values(), self._crowds):
            array.setflags(write=False)  # shared by every get_ann_info: a write would be a bug
        num_images = len(data_infos)
        self._person_offsets = np.searchsorted(slots[kept], np.arange(num_images + 1))
        self._crowd_offsets = np.searchsorted(slots[crowd], np.arange(num_images + 1))

    def get_ann_info(self, idx):
        """Parsed annotations of image ``idx``: ``bboxes`` float32[n, 4], ``labels`` int64[n],
        ``bboxes_ignore`` float32[m, 4], ``keypoints`` float32[n, K, 3] (read-only views of the
        dataset's arrays: the pipeline copies them)."""
        slot = self._slot_of_image[self.data_infos[idx]['id']]
        begin, end = self._person_offsets[slot:slot + 2]
        crowd_begin, crowd_end = self._crowd_offsets[slot:slot + 2]
        ann = {key: value[begin:end] for key, value in self._persons.items()}
        ann['bboxes_ignore'] = self._crowds[crowd_begin:crowd_end]
        return ann

    def _num_persons(self, img_id):
        slot = self._slot_of_image[img_id]
        return int(self._person_offsets[slot + 1] - self._person_offsets[slot])

    def _filter_imgs(self, min_size=32):
        """Training: keep images with a person (if ``filter_empty_gt``) and min side >= 32."""
        valid_inds, valid_img_ids = [], []
        for i, img_info in enumerate(self.data_infos):
            img_id = self.img_ids[i]
            if self.filter_empty_gt and self._num_persons(img_id) == 0:
                self.dropped_images['no_person'] += 1
                continue
            if min(img_info['width'], img_info['height']) < min_size:
                self.dropped_images['too_small'] += 1
                continue
            valid_inds.append(i)
            valid_img_ids.append(img_id)
        self.img_ids = valid_img_ids
        return valid_inds

    def _log_load_summary(self):
        num_persons = sum(self._num_persons(info['id']) for info in self.data_infos)
        instances = ', '.join(f'{k}={v}' for k, v in self.dropped_instances.items())
        images = ', '.join(f'{k}={v}' for k, v in self.dropped_images.items())
        mode = 'test' if self.test_mode else 'train'
        get_root_logger().info(
            f'{type(self).__name__} ({mode}) {self.ann_file}: {len(self)} images, {num_persons} '
            f'persons, K={self.num_keypoints}; dropped instances: {instances}; dropped images: '
            f'{images}')

    # ---------------------------------------------------------------------------------- pipeline
    def pre_pipeline(self, results):
        """mmdet's fields plus ``keypoint_fields`` and ``keypoint_flip_pairs``."""
        super().pre_pipeline(results)
        results['keypoint_fields'] = []
        results['keypoint_flip_pairs'] = list(self.flip_pairs)

    def prepare_train_img(self, idx):
        """mmdet's, but an unreadable image file gives None (mmdet's ``__getitem__`` then draws
        another image) after a warning naming the file once."""
        try:
            return super().prepare_train_img(idx)
        except ImageLoadError as err:
            self._skip_unreadable(err.path, err.reason)
        except FileNotFoundError as err:  # mmdet's own LoadImageFromFile
            self._skip_unreadable(err.filename or str(err), 'file not found')
        return None

    def _skip_unreadable(self, path, reason):
        if path in self.skipped_files:
            return
        self.skipped_files.add(path)
        get_root_logger().warning(
            f"{type(self).__name__}: skipping image '{path}' ({reason}); another image is used "
            f'instead. Skipped files so far: {len(self.skipped_files)}')
        if len(self.skipped_files) >= len(self):
            raise RuntimeError(f'{type(self).__name__}: none of the {len(self)} image files '
                               f'could be read (e.g. {path})')

    # -------------------------------------------------------------------------------- evaluation
    def _kpt2json(self, results):
        """COCO keypoint results of ``(bbox_results, keypoint_results)`` per image
        (:func:`~mmhrkpt.core.evaluation.keypoint_results_to_json`)."""
        return keypoint_results_to_json(results, self.img_ids, self.cat_ids, self.num_keypoints)

    def results2json(self, results, outfile_prefix, keypoint_json=None):
        """Write ``PREFIX.bbox.json`` and ``PREFIX.keypoints.json``.

        Args:
            results (list[tuple]): per image ``(bbox_results, keypoint_results)``, each a list over
                classes of ``np.ndarray[n, 5]`` and ``np.ndarray[n, K, 3]``. A plain list of
                ``bbox_results`` per image is handed to mmdet (boxes only).
            outfile_prefix (str): e.g. ``a/b/prefix``.
            keypoint_json (list[dict], optional): the keypoint results already in COCO's format.

        Returns:
            dict[str, str]: ``bbox`` and ``keypoints`` file names.
        """
        if not isinstance(results[0], tuple):
            return super().results2json(results, outfile_prefix)
        result_files = dict(bbox=f'{outfile_prefix}.bbox.json', keypoints=f'{outfile_prefix}.keypoints.json')
        dump_json(self._det2json([bbox_result for bbox_result, _ in results]), result_files['bbox'])
        dump_json(
            self._kpt2json(results) if keypoint_json is None else keypoint_json, result_files['keypoints'])
        return result_files

    def evaluate_keypoints(self, keypoint_results, logger=None):
        """COCO keypoint AP of results (a json file or its list of dicts) with this dataset's OKS
        sigmas (:func:`~mmhrkpt.core.evaluation.evaluate_keypoint_results`)."""
        return evaluate_keypoint_results(
            self.coco, keypoint_results, self.sigmas, self.cat_ids, self.img_ids, logger=logger)

    def evaluate(self,
                 results,
                 metric=('bbox', 'keypoints'),
                 logger=None,
                 jsonfile_prefix=None,
                 classwise=False,
                 proposal_nums=(100, 300, 1000),
                 iou_thrs=None,
                 metric_items=None):
        """Box AP (mmdet's COCO evaluation) and keypoint AP (COCOeval 'keypoints', OKS sigmas of
        this dataset).

        Args:
            results (list[tuple]): per image, in dataset order, ``(bbox_results,
                keypoint_results)``: lists over classes of ``np.ndarray[n, 5]`` (x1, y1, x2, y2,
                score) and ``np.ndarray[n, K, 3]`` (x, y, keypoint score); row i belongs to box i.
            metric (str | Sequence[str]): 'bbox' and/or 'keypoints'.
            logger (logging.Logger | str, optional): where the tables are printed.
            jsonfile_prefix (str, optional): keep the result files as ``PREFIX.bbox.json`` and
                ``PREFIX.keypoints.json``. Without it the keypoint results are evaluated in memory,
                and only the box evaluation (mmdet's, which reads a file) writes a temporary one.
            classwise, proposal_nums, iou_thrs, metric_items: as mmdet's, for 'bbox'.

        Returns:
            dict: mmdet's ``bbox_mAP``, ``bbox_mAP_50``, ... and ``keypoints_AP``,
            ``keypoints_AP50``, ``keypoints_AP75``, ``keypoints_APm``, ``keypoints_APl``,
            ``keypoints_AR``. No detection at all gives 0.0 everywhere.
        """
        metrics = [metric] if isinstance(metric, str) else list(metric)
        for name in metrics:
            if name not in ('bbox', 'keypoints'):
                raise KeyError(f"metric {name} is not supported (use 'bbox' and/or 'keypoints')")
        if 'keypoints' in metrics and not isinstance(results[0], tuple):
            raise ValueError("metric 'keypoints' needs (bbox_results, keypoint_results) per image")

        keypoint_json = self._kpt2json(results) if 'keypoints' in metrics else None
        prefix, tmp_dir = jsonfile_prefix, None
        if prefix is None and 'bbox' in metrics:
            tmp_dir = tempfile.TemporaryDirectory()
            prefix = osp.join(tmp_dir.name, 'results')
        eval_results = OrderedDict()
        try:
            result_files = {} if prefix is None else self.results2json(results, prefix, keypoint_json)
            if 'bbox' in metrics:
                eval_results.update(
                    self.evaluate_det_segm(results, result_files, self.coco, ['bbox'], logger, classwise,
                                           proposal_nums, iou_thrs, metric_items))
            if 'keypoints' in metrics:
                eval_results.update(self.evaluate_keypoints(keypoint_json, logger))
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()
        return eval_results
