from .image import draw_predictions, drawing_meta, imshow_keypoints, label_image, show_keypoint_result
from .palette import BOX, CENTRE, LEFT, RIGHT, TEXT, keypoint_colors, side_color

__all__ = [
    'imshow_keypoints', 'show_keypoint_result', 'draw_predictions', 'drawing_meta', 'label_image', 'BOX',
    'CENTRE', 'LEFT', 'RIGHT', 'TEXT', 'keypoint_colors', 'side_color'
]
