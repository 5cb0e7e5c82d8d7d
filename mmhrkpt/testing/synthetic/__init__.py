"""Synthetic multi-person keypoint images with COCO-format annotations.

``generate_synthetic_coco`` draws articulated figures with the 17 COCO keypoints so that a small
Keypoint R-CNN can be trained and evaluated without the COCO download (``make demo``). One job per
module:

- ``figure``: body proportions, pose sampling, 3-D joints and their projection;
- ``render``: colours, painting people, heads, background and occluders, placing people in an
  image and labelling what was painted (``synthesize_image``);
- ``coco_writer``: the images and the person_keypoints json of each split;
- ``preview``: a grid of images with their ground truth drawn.
"""
from .coco_writer import coco_categories, generate_synthetic_coco
from .figure import project, sample_pose
from .preview import draw_annotations, save_preview
from .render import LEFT_HUES, RIGHT_HUES, synthesize_image

__all__ = [
    'generate_synthetic_coco', 'coco_categories', 'synthesize_image', 'sample_pose', 'project',
    'draw_annotations', 'save_preview', 'LEFT_HUES', 'RIGHT_HUES'
]
