"""CrowdPose (Li et al., CVPR 2019) from its official annotation files.

Letters: K = 14 keypoints.
"""
from mmdet.datasets.builder import DATASETS

from mmhrkpt.core.evaluation.keypoint_eval import evaluate_crowdpose_results
from .coco_keypoint import CocoKeypointDataset
from .coco_parsing import is_number

CROWDPOSE_META = 'mmpose::crowdpose'


@DATASETS.register_module()
class CrowdPoseKeypointDataset(CocoKeypointDataset):
    """CrowdPose's ``crowdpose_{train,val,trainval,test}.json``: a COCO keypoint json with 14
    keypoints and a ``crowdIndex`` per image, evaluated as CrowdPose's benchmark does.

    Loading is :class:`CocoKeypointDataset`'s; every image must carry its ``crowdIndex`` (a number in
    [0, 1]). The keypoint meta defaults to mmpose's CrowdPose file (names, flip pairs, skeleton,
    sigmas, joint weights). The official files' category lists COCO's 17-keypoint skeleton for the
    14 keypoints: it is ignored with one warning, the meta's skeleton is used.

    ``evaluate(metric='keypoints')`` is xtcocotools' ``COCOeval(iouType='keypoints_crowd')`` on the
    annotation file (:func:`~mmhrkpt.core.evaluation.evaluate_crowdpose_results`): ``keypoints_AP``,
    ``_AP50``, ``_AP75``, ``_AR``, ``_AR50``, ``_AR75`` and ``_AP_easy`` / ``_AP_medium`` /
    ``_AP_hard`` (crowdIndex < 0.2, < 0.8, >= 0.8). ``'bbox'`` is mmdet's COCO box AP.

    Args:
        ann_file (str): the CrowdPose json.
        pipeline (list[dict]): processing pipeline.
        dataset_info (dict | str): the keypoint meta (default: mmpose's ``crowdpose`` file).
        **kwargs: :class:`CocoKeypointDataset` arguments.
    """

    def __init__(self, ann_file, pipeline, dataset_info=CROWDPOSE_META, **kwargs):
        super().__init__(ann_file, pipeline, dataset_info=dataset_info, **kwargs)

    def _check_image_info(self, info):
        super()._check_image_info(info)
        crowd_index = info.get('crowdIndex')
        if not is_number(crowd_index) or not 0 <= crowd_index <= 1:
            raise ValueError(f"malformed image id={info.get('id')} in {self.ann_file}: field "
                             f"'crowdIndex' must be a number in [0, 1] (CrowdPose's crowding of the "
                             f'image), got {crowd_index!r}')

    def evaluate_keypoints(self, keypoint_results, logger=None):
        """CrowdPose keypoint AP of results, a json file or its list (xtcocotools'
        'keypoints_crowd')."""
        return evaluate_crowdpose_results(
            self.ann_file, keypoint_results, self.sigmas, self.cat_ids, logger=logger)
