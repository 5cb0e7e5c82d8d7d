"""Keypoint R-CNN: mmdet's two-stage detector with a keypoint RoI head."""
import torch
from mmdet.models.builder import DETECTORS
from mmdet.models.detectors import TwoStageDetector


@DETECTORS.register_module()
class KeypointRCNN(TwoStageDetector):
    """A ``TwoStageDetector`` (backbone, neck, RPN, ``KeypointRoIHead``) for multi-person pose.

    Shape legend: B images, n ground-truth persons of an image, K keypoints.

    Training is mmdet's ``TwoStageDetector.forward_train``: ``gt_keypoints`` (per image Tensor[n, K, 3],
    (x, y, v) in the frame of ``gt_bboxes``) travels in its ``**kwargs`` to
    ``KeypointRoIHead.forward_train``.

    Results of ``simple_test`` / ``aug_test`` are, per image, ``(bbox_results, keypoint_results)``:
    ``bbox_results`` as mmdet's (one ``(n, 5)`` array per class) and ``keypoint_results`` one
    ``(n, K, 3)`` array (x, y, score) per class, row i belonging to box i.

    Flip test (``test_cfg.rcnn.keypoint.flip_test=True``): boxes come from the image as given; the
    keypoint branch also runs on the horizontally flipped image, its heatmaps are flipped back with the
    dataset's flip pairs (UDP-aware, by the codec) and averaged. ``simple_test`` flips the batch tensor
    itself; ``aug_test`` takes the flipped copy that mmdet's ``MultiScaleFlipAug(flip=True)`` made.

    Args:
        channels_last (bool): keep convolution weights and the input batch in
            ``torch.channels_last`` memory layout (NHWC strides; shapes are unchanged). On x86
            CPUs oneDNN's convolutions are faster in that layout
            (``tools/analysis_tools/benchmark.py profile``, docs/benchmarks.md); results equal the
            default layout's up to float rounding.
        Other arguments: mmdet's ``TwoStageDetector``.
    """

    def __init__(self, *args, channels_last=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.channels_last = channels_last
        if channels_last:
            self._check_roi_layers()
        self._to_channels_last()

    def _check_roi_layers(self):
        from mmcv.ops import RoIAlign, RoIPool
        unsafe = [name for name, m in self.named_modules() if isinstance(m, (RoIAlign, RoIPool))]
        if unsafe:
            # mmcv 1.7.2's CPU RoIAlign reads a channels_last map as if it were NCHW: its features
            # would be wrong, not merely slow
            raise ValueError(
                'channels_last=True needs RoI layers that accept channels_last features: '
                "roi_layer=dict(type='SparseRoIAlign' or 'TVRoIAlign', ...) in a "
                "SingleLevelRoIExtractor; mmcv's RoIAlign/RoIPool index the map as contiguous NCHW "
                f'and would give wrong features ({", ".join(unsafe[:4])})')

    def _to_channels_last(self):
        if self.channels_last:
            # Module.to(memory_format=...) converts 4-d parameters and buffers only (conv weights).
            self.to(memory_format=torch.channels_last)

    def init_weights(self):
        """mmcv's initialisation, then the memory layout again (an initialiser may replace data)."""
        super().init_weights()
        self._to_channels_last()

    def extract_feat(self, img):
        """Backbone and neck features of ``img`` (Tensor[B, 3, H, W]) as mmdet's, in the model's
        memory layout."""
        if self.channels_last:
            img = img.contiguous(memory_format=torch.channels_last)
        return super().extract_feat(img)

    @property
    def flip_test(self):
        rcnn_cfg = (self.test_cfg or {}).get('rcnn', None) or {}
        return bool((rcnn_cfg.get('keypoint', None) or {}).get('flip_test', False))

    def simple_test(self, img, img_metas, proposals=None, rescale=False):
        """Boxes and keypoints of a batch (one scale, flip test by ``test_cfg``)."""
        assert self.with_bbox, 'Bbox head must be implemented.'
        x = self.extract_feat(img)
        proposal_list = (self.rpn_head.simple_test_rpn(x, img_metas) if proposals is None else proposals)
        x_flip, flip_widths = None, None
        if self.flip_test:
            # A flip of the padded batch maps x to W_pad - x, whatever each image's own size.
            x_flip = self.extract_feat(img.flip(-1))
            flip_widths = [float(img.shape[-1])] * len(img_metas)
        return self.roi_head.simple_test(
            x, proposal_list, img_metas, rescale=rescale, x_flip=x_flip, flip_widths=flip_widths)

    def aug_test(self, imgs, img_metas, rescale=False):
        """Test with ``MultiScaleFlipAug`` at one scale and ``flip=True``: [image, flipped image].

        Boxes come from the unflipped image; the flipped one feeds the keypoint branch's flip test.
        """
        flips = [m[0].get('flip', False) for m in img_metas]
        if len(imgs) != 2 or sorted(flips) != [False, True]:
            raise NotImplementedError('KeypointRCNN.aug_test supports one scale with horizontal flip '
                                      f'(got {len(imgs)} augmentations, flips {flips})')
        i, j = flips.index(False), flips.index(True)
        if img_metas[j][0].get('flip_direction', 'horizontal') != 'horizontal':
            raise NotImplementedError('only horizontal flip is supported at test time')
        x = self.extract_feat(imgs[i])
        x_flip = self.extract_feat(imgs[j])
        proposal_list = self.rpn_head.simple_test_rpn(x, img_metas[i])
        # mmdet flips each image inside its own img_shape, before padding.
        flip_widths = [float(m['img_shape'][1]) for m in img_metas[j]]
        return self.roi_head.simple_test(
            x, proposal_list, img_metas[i], rescale=rescale, x_flip=x_flip, flip_widths=flip_widths)

    def show_result(self, img, result, **kwargs):
        """Draw boxes and skeletons (see ``mmhrkpt.core.visualization.imshow_keypoints``)."""
        from mmhrkpt.core.visualization import show_keypoint_result
        return show_keypoint_result(img, result, **kwargs)
