from .eval_hooks import DistKeypointEvalHook, KeypointEvalHook
from .finite_loss import FiniteLossHook, place_finite_loss_hook
from .lr_updater import FractionStepLrUpdaterHook
from .progress_hook import TrainingProgressHook, place_progress_hook
from .skipped_images import SkippedImagesHook
from .visualization_hook import KeypointVisualizationHook

__all__ = [
    'KeypointEvalHook', 'DistKeypointEvalHook', 'FiniteLossHook', 'place_finite_loss_hook',
    'SkippedImagesHook', 'KeypointVisualizationHook', 'FractionStepLrUpdaterHook', 'TrainingProgressHook',
    'place_progress_hook'
]
