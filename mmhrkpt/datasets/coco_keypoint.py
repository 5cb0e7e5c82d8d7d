"""COCO-format person keypoint dataset (``person_keypoints_*.json``) for mmdet 2.x.

Letters: n persons of an image, K keypoints (any K: the meta says how many).

Coordinates (CONVENTIONS.md): COCO keypoints are integer pixel indices; here a labelled keypoint
becomes (x + 0.5, y + 0.5, v) in mmdet's continuous frame, an unlabelled one (v = 0) is (0, 0, 0),
and results are written back with x - 0.5, y - 0.5. Boxes are continuous in COCO already.
"""
import numbers
from collections import Counter, OrderedDict

import mmcv
import numpy as np
from mmdet.datasets.builder import DATASETS
from mmdet.datasets.coco import CocoDataset
from mmdet.utils import get_root_logger

from mmhrkpt.core.evaluation.keypoint_eval import (KeypointCOCO, evaluate_keypoint_results,
                                                   keypoint_results_to_json)
from .keypoint_meta import PIXEL_CENTER_OFFSET, resolve_keypoint_meta
from .pipelines.loading import ImageLoadError

INSTANCE_DROP_REASONS = ('crowd', 'zero_area_box', 'too_few_keypoints', 'ignore_flag')
IMAGE_DROP_REASONS = ('no_person', 'too_small')


def _is_number(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and np.isfinite(value))


def _number_array(value):
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


def _describe_bad_list(value):
    """Why ``value`` is not a flat list of finite numbers (for error messages)."""
    if not isinstance(value, (list, tuple)):
        return f'must be a list of numbers, got {type(value).__name__} {value!r:.60}'
    bad = next((v for v in value if not _is_number(v)), None)
    return f'has a non-numeric or non-finite value {bad!r:.60}'


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
        """Load, validate and parse every person annotation of ``ann_file``.

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
        self._ann_infos = {}
        seen_ann_ids = []
        for img_id in self.img_ids:
            info = self.coco.load_imgs([img_id])[0]
            self._check_image_info(info)
            info['filename'] = info['file_name']
            data_infos.append(info)
            ann_ids = self.coco.get_ann_ids(img_ids=[img_id])
            seen_ann_ids.extend(ann_ids)
            self._ann_infos[img_id] = self._parse_ann_info(info, self.coco.load_anns(ann_ids))
        if len(set(seen_ann_ids)) != len(seen_ann_ids):
            duplicates = sorted(i for i, n in Counter(seen_ann_ids).items() if n > 1)
            raise ValueError(f'{ann_file}: annotation ids are not unique: {duplicates[:10]}')
        orphans = sorted(set(self.coco.anns) - set(seen_ann_ids))
        if orphans:
            raise ValueError(f'{ann_file}: annotations {orphans[:10]} refer to image ids that are '
                             "not in 'images'")
        return data_infos

    def _check_image_info(self, info):
        for field in ('width', 'height'):
            if not _is_number(info.get(field)) or info[field] <= 0:
                raise ValueError(f"malformed image id={info.get('id')} in {self.ann_file}: field "
                                 f"'{field}' must be a positive number, got {info.get(field)!r}")
        if not isinstance(info.get('file_name'), str):
            raise ValueError(f"malformed image id={info.get('id')} in {self.ann_file}: field "
                             f"'file_name' must be a string, got {info.get('file_name')!r}")

    def _malformed(self, ann, field, problem):
        return ValueError(f"malformed annotation id={ann.get('id')} "
                          f"(image id={ann.get('image_id')}) in {self.ann_file}: "
                          f"field '{field}' {problem}")

    def _check_annotation(self, ann):
        """Validate one person annotation and fill the fields COCOeval needs.

        Returns:
            tuple: ``bbox`` (np.ndarray[4], x y w h) and ``keypoints`` (np.ndarray[K, 3], the raw
            COCO values).
        """
        bbox = _number_array(ann.get('bbox'))
        if bbox is None or bbox.shape != (4, ):
            problem = (_describe_bad_list(ann.get('bbox')) if bbox is None else
                       f'must be 4 numbers [x, y, w, h], got {len(bbox)}')
            raise self._malformed(ann, 'bbox', problem)
        if 'keypoints' not in ann:
            raise self._malformed(ann, 'keypoints', 'is missing')
        flat = _number_array(ann['keypoints'])
        if flat is None:
            raise self._malformed(ann, 'keypoints', _describe_bad_list(ann['keypoints']))
        if len(flat) % 3:
            raise self._malformed(
                ann, 'keypoints', f'has {len(flat)} values, not a multiple of 3 (x, y, v triplets)')
        if len(flat) != 3 * self.num_keypoints:
            raise self._malformed(
                ann, 'keypoints', f'has {len(flat)} values = {len(flat) // 3} keypoints, expected '
                f'3*K = {3 * self.num_keypoints} (the dataset meta has K={self.num_keypoints})')
        keypoints = flat.reshape(self.num_keypoints, 3)
        visibility = keypoints[:, 2]
        if not ((visibility == 0) | (visibility == 1) | (visibility == 2)).all():
            raise self._malformed(ann, 'keypoints', 'has visibility flags other than 0, 1, 2: '
                                  f'{sorted(set(visibility.tolist()))}')
        for field in ('area', 'iscrowd', 'num_keypoints'):
            if field in ann and not _is_number(ann[field]):
                raise self._malformed(ann, field, f'must be a number, got {ann[field]!r:.60}')
        # COCOeval reads these from every ground truth: fill them when a json leaves them out.
        ann.setdefault('iscrowd', 0)
        ann.setdefault('area', float(bbox[2] * bbox[3]))
        ann.setdefault('num_keypoints', int(np.count_nonzero(keypoints[:, 2] > 0)))
        return bbox, keypoints

    def _parse_ann_info(self, img_info, ann_info):
        """Parse the annotations of one image (see the class docstring for the filtering).

        Returns:
            dict: ``bboxes`` float32[n, 4], ``labels`` int64[n], ``bboxes_ignore`` float32[m, 4],
            ``keypoints`` float32[n, K, 3].
        """
        bboxes, labels, bboxes_ignore, keypoints = [], [], [], []
        for ann in ann_info:
            if ann.get('category_id') not in self.cat2label:
                continue
            (x1, y1, w, h), raw_keypoints = self._check_annotation(ann)
            if ann.get('ignore', False):
                self.dropped_instances['ignore_flag'] += 1
                continue
            inter_w = max(0, min(x1 + w, img_info['width']) - max(x1, 0))
            inter_h = max(0, min(y1 + h, img_info['height']) - max(y1, 0))
            if inter_w * inter_h == 0 or w < 1 or h < 1:
                self.dropped_instances['zero_area_box'] += 1
                continue
            box = [x1, y1, x1 + w, y1 + h]
            if ann['iscrowd']:
                self.dropped_instances['crowd'] += 1
                bboxes_ignore.append(box)
                continue
            labelled = raw_keypoints[:, 2] > 0
            if not self.test_mode and np.count_nonzero(labelled) < self.min_keypoints:
                self.dropped_instances['too_few_keypoints'] += 1
                continue
            person = np.where(labelled[:, None], raw_keypoints, 0.0)
            person[labelled, :2] += PIXEL_CENTER_OFFSET
            bboxes.append(box)
            labels.append(self.cat2label[ann['category_id']])
            keypoints.append(person)

        num_keypoints = self.num_keypoints
        return dict(
            bboxes=np.array(bboxes, dtype=np.float32).reshape(-1, 4),
            labels=np.array(labels, dtype=np.int64),
            bboxes_ignore=np.array(bboxes_ignore, dtype=np.float32).reshape(-1, 4),
            keypoints=np.array(keypoints, dtype=np.float32).reshape(-1, num_keypoints, 3))

    def get_ann_info(self, idx):
        """Parsed annotations of image ``idx`` (see :meth:`_parse_ann_info`)."""
        return dict(self._ann_infos[self.data_infos[idx]['id']])

    def _filter_imgs(self, min_size=32):
        """Training: keep images with a person (if ``filter_empty_gt``) and min side >= 32."""
        valid_inds, valid_img_ids = [], []
        for i, img_info in enumerate(self.data_infos):
            img_id = self.img_ids[i]
            if self.filter_empty_gt and len(self._ann_infos[img_id]['labels']) == 0:
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
        num_persons = sum(len(self._ann_infos[info['id']]['labels']) for info in self.data_infos)
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

    def results2json(self, results, outfile_prefix):
        """Write ``PREFIX.bbox.json`` and ``PREFIX.keypoints.json``.

        Args:
            results (list[tuple]): per image ``(bbox_results, keypoint_results)``, each a list over
                classes of ``np.ndarray[n, 5]`` and ``np.ndarray[n, K, 3]``. A plain list of
                ``bbox_results`` per image is handed to mmdet (boxes only).
            outfile_prefix (str): e.g. ``a/b/prefix``.

        Returns:
            dict[str, str]: ``bbox`` and ``keypoints`` file names.
        """
        if not isinstance(results[0], tuple):
            return super().results2json(results, outfile_prefix)
        result_files = dict(bbox=f'{outfile_prefix}.bbox.json',
                            keypoints=f'{outfile_prefix}.keypoints.json')
        mmcv.dump(self._det2json([bbox_result for bbox_result, _ in results]), result_files['bbox'])
        mmcv.dump(self._kpt2json(results), result_files['keypoints'])
        return result_files

    def evaluate_keypoints(self, keypoints_file, logger=None):
        """COCO keypoint AP of a results file with this dataset's OKS sigmas
        (:func:`~mmhrkpt.core.evaluation.evaluate_keypoint_results`)."""
        return evaluate_keypoint_results(self.coco, keypoints_file, self.sigmas, self.cat_ids,
                                         self.img_ids, logger=logger)

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
                ``PREFIX.keypoints.json``; a temporary directory otherwise.
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

        result_files, tmp_dir = self.format_results(results, jsonfile_prefix)
        eval_results = OrderedDict()
        try:
            if 'bbox' in metrics:
                eval_results.update(
                    self.evaluate_det_segm(results, result_files, self.coco, ['bbox'], logger,
                                           classwise, proposal_nums, iou_thrs, metric_items))
            if 'keypoints' in metrics:
                eval_results.update(self.evaluate_keypoints(result_files['keypoints'], logger))
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()
        return eval_results
