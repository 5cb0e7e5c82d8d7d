"""Prediction pictures of a few validation images during training."""
import os.path as osp

from mmcv.runner import HOOKS, Hook, get_dist_info

from mmhrkpt.core.visualization import draw_predictions


@HOOKS.register_module()
class KeypointVisualizationHook(Hook):
    """Every ``interval`` epochs, save predicted skeletons next to the ground truth for a few
    validation images, as ``<work_dir>/vis/epoch_<e>_<i>.png``.

    ``mmhrkpt.apis.train_detector`` gives the hook the validation dataset; without one it does
    nothing (and says so once).

    Args:
        interval (int): epochs between two drawings.
        num_images (int): how many validation images (the first ones, always the same).
        score_thr (float): instances under this score are not drawn.
        out_dir (str | None): where to write (default: ``<work_dir>/vis``).
    """

    def __init__(self, interval=1, num_images=4, score_thr=0.3, out_dir=None):
        self.interval = interval
        self.num_images = num_images
        self.score_thr = score_thr
        self.out_dir = out_dir
        self.dataset = None

    def after_train_epoch(self, runner):
        if not self.every_n_epochs(runner, self.interval) or get_dist_info()[0] != 0:
            return
        if self.dataset is None:
            runner.logger.warning('KeypointVisualizationHook: no validation dataset, nothing drawn')
            return
        out_dir = self.out_dir or osp.join(runner.work_dir, 'vis')
        files = draw_predictions(
            runner.model,
            self.dataset,
            out_dir,
            self.num_images,
            prefix=f'epoch_{runner.epoch + 1}_',
            score_thr=self.score_thr)
        runner.logger.info(f'KeypointVisualizationHook: wrote {len(files)} images to {out_dir}')
