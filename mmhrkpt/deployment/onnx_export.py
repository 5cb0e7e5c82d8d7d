"""Export a Keypoint R-CNN to one ONNX file, and compare what onnxruntime makes of it with PyTorch.

Shape legend: N detections, K keypoints, (H, W) the graph's input, (h, w) the image inside it.

The graph (``KeypointRCNNExport`` traced by the TorchScript-based ``torch.onnx.export``):

* input ``input`` float32 [1, 3, H, W] (H, W fixed, or free with ``dynamic``), the image after the test
  pipeline; optional input ``img_shape`` int64 [2], (h, w) of the image before padding, default
  (0, 0) = all of ``input`` (an initializer that a feed overrides);
* outputs ``dets`` float32 [N, 5], ``labels`` int64 [N], ``keypoints`` float32 [N, K, 3], N <=
  ``test_cfg.rcnn.max_per_img`` (0 is valid);
* ``metadata_props``: :func:`mmhrkpt.deployment.meta.model_meta`.

``onnx`` and ``onnxruntime`` are imported inside the functions that need them (``pip install -e
.[deploy]``); ``import mmhrkpt`` never imports them.
"""
import io
import warnings

import numpy as np
import torch

from .export_model import KeypointRCNNExport
from .export_ops import roi_align_args
from .meta import to_metadata_props

DEFAULT_OPSET = 17
# ONNX RoiAlign has coordinate_transformation_mode='half_pixel' (RoIAlign's aligned=True) from opset 16.
MIN_OPSET_ALIGNED = 16
MIN_OPSET = 11
INPUT_NAMES = ('input', 'img_shape')
OUTPUT_NAMES = ('dets', 'labels', 'keypoints')
# What --verify accepts between onnxruntime and PyTorch on the same input: box corners and keypoint
# (x, y) within this fraction of max(H, W), box / instance / keypoint scores within SCORE_TOL, and the
# same number of detections and labels. Float rounding differs between the two runtimes' kernels
# (convolutions, matrix products); DARK / UDP refinement keeps it small except for keypoints whose
# Newton step is ill-conditioned, which compare_outputs reports apart.
COORD_TOL = 1e-3
SCORE_TOL = 1e-4


def check_opset(detector, opset):
    """ValueError unless ``opset`` writes every RoI layer of ``detector`` exactly."""
    if opset < MIN_OPSET:
        raise ValueError(f'opset {opset} < {MIN_OPSET} has no RoiAlign / NonMaxSuppression')
    roi_head = detector.roi_head
    layers = list(roi_head.bbox_roi_extractor.roi_layers) + list(roi_head.keypoint_roi_extractor.roi_layers)
    if opset < MIN_OPSET_ALIGNED and any(roi_align_args(layer)['aligned'] for layer in layers):
        raise ValueError(f'RoIAlign(aligned=True) needs opset >= {MIN_OPSET_ALIGNED} (ONNX RoiAlign '
                         f"coordinate_transformation_mode='half_pixel'), got --opset {opset}")


def _add_img_shape_default(model):
    """Give the ``img_shape`` input the default (0, 0): an initializer of the same name, which a feed
    overrides (ONNX IR >= 4), so ``input`` is the only input a runtime must give."""
    from onnx import numpy_helper
    model.graph.initializer.append(numpy_helper.from_array(np.zeros(2, np.int64), name='img_shape'))


def export_onnx(detector, output_file, example, meta, dynamic=False, opset=DEFAULT_OPSET, flip_pairs=None):
    """Trace ``detector`` on ``example`` and write the ONNX file.

    Args:
        detector (KeypointRCNN): eval mode, weights loaded.
        output_file (str): where to write.
        example (Tensor[1, 3, H, W]): a preprocessed input to trace with; its size is the graph's
            unless ``dynamic``.
        meta (dict): JSON-able metadata (:func:`mmhrkpt.deployment.meta.model_meta`).
        dynamic (bool): H and W free.
        opset (int): ONNX opset.
        flip_pairs (Sequence[tuple[int, int]] | None): for flip test (``test_cfg``).

    Returns:
        onnx.ModelProto: the written model.
    """
    import onnx
    check_opset(detector, opset)
    module = KeypointRCNNExport(detector, flip_pairs=flip_pairs).eval()
    axes = {name: {0: 'num_dets'} for name in OUTPUT_NAMES}
    if dynamic:
        axes['input'] = {2: 'height', 3: 'width'}
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # Python branches on sizes (codec checks, mmdet's asserts) are fixed at tracing on purpose:
        # the graph's dynamic sizes never reach them.
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', message='.*legacy TorchScript-based ONNX export.*')
        torch.onnx.export(
            module, (example, torch.zeros(2, dtype=torch.long)),
            buffer,
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    _add_img_shape_default(model)
    onnx.helper.set_model_props(model, to_metadata_props(meta))
    onnx.checker.check_model(model)
    onnx.save(model, output_file)
    return model


def pytorch_outputs(detector, example, img_shape=None, flip_pairs=None):
    """What ``KeypointRCNN.simple_test(rescale=False)`` gives for ``example``, as the graph's outputs.

    Args:
        detector (KeypointRCNN): eval mode.
        example (Tensor[1, 3, H, W]): preprocessed input.
        img_shape (tuple[int, int] | None): (h, w) of the image inside it (default: all of it).
        flip_pairs (Sequence[tuple[int, int]] | None): for flip test.

    Returns:
        dict: ``dets`` [N, 5], ``labels`` [N], ``keypoints`` [N, K, 3] (numpy), rows grouped by class
        as mmdet's ``bbox2result`` returns them, best score first within a class; and ``regions``
        [N, 4], each detection's keypoint RoI grown by one heatmap cell on every side (see
        :func:`compare_outputs`).
    """
    height, width = example.shape[2:]
    h, w = img_shape or (height, width)
    img_meta = dict(
        img_shape=(h, w, 3),
        pad_shape=(height, width, 3),
        ori_shape=(h, w, 3),
        scale_factor=np.ones(4, dtype=np.float32),
        flip=False,
        flip_direction=None)
    if flip_pairs is not None:
        img_meta['keypoint_flip_pairs'] = [tuple(p) for p in flip_pairs]
    with torch.no_grad():
        bbox_results, keypoint_results = detector.simple_test(example, [img_meta], rescale=False)[0]
    num_kpts = detector.roi_head.num_keypoints
    dets = np.concatenate([b.reshape(-1, 5) for b in bbox_results])
    labels = [np.full(len(b), c, dtype=np.int64) for c, b in enumerate(bbox_results)]
    return dict(
        dets=dets,
        labels=np.concatenate(labels),
        keypoints=np.concatenate([k.reshape(-1, num_kpts, 3) for k in keypoint_results]),
        regions=keypoint_regions(detector.roi_head, dets[:, :4]))


def keypoint_regions(roi_head, boxes):
    """Where a refined keypoint of each box can lie: its keypoint RoI grown by one heatmap cell.

    Args:
        roi_head (KeypointRoIHead): its codec's ``expand_rois`` and heatmap size are used.
        boxes (np.ndarray[N, 4]): detections (x1, y1, x2, y2).

    Returns:
        np.ndarray[N, 4]: (x1, y1, x2, y2).
    """
    rois = roi_head.expand_keypoint_rois(torch.from_numpy(np.asarray(boxes, dtype=np.float32))).numpy()
    heat_h, heat_w = roi_head.keypoint_head.codec.heatmap_size
    cell = np.stack([(rois[:, 2] - rois[:, 0]) / heat_w, (rois[:, 3] - rois[:, 1]) / heat_h], axis=1)
    return rois + np.concatenate([-cell, cell], axis=1)


def onnx_outputs(session, example, img_shape=None):
    """onnxruntime's outputs for ``example`` (Tensor or array [1, 3, H, W]), rows grouped by class
    (stable) as :func:`pytorch_outputs`: dict of numpy arrays."""
    feed = dict(input=np.ascontiguousarray(np.asarray(example), dtype=np.float32))
    if img_shape is not None:
        feed['img_shape'] = np.asarray(img_shape, dtype=np.int64)
    dets, labels, keypoints = session.run(list(OUTPUT_NAMES), feed)
    order = np.argsort(labels, kind='stable')
    return dict(dets=dets[order], labels=labels[order], keypoints=keypoints[order])


def compare_outputs(reference, outputs, image_size):
    """The largest differences of ``outputs`` from ``reference`` (both as :func:`pytorch_outputs`).

    Keypoint coordinates are compared where PyTorch put the keypoint inside its ``region`` (the
    keypoint RoI grown by one heatmap cell). A refined keypoint lies within a cell of its heatmap's
    argmax, inside the RoI, unless DARK / UDP took their Newton step with a near-singular Hessian
    (flat heatmaps: low scores, mostly in untrained models); such a step lands anywhere and turns the
    rounding differences of any two runtimes into pixels. Those keypoints are counted and their
    largest difference is printed, not held to the tolerance. Scores are compared everywhere.

    Args:
        reference (dict): ``dets``, ``labels``, ``keypoints``, ``regions``.
        outputs (dict): ``dets``, ``labels``, ``keypoints``.
        image_size (int): max(H, W) of the input, the scale of the coordinate tolerance.

    Returns:
        dict: ``num_reference``, ``num_outputs``, ``box``, ``score``, ``keypoint``, ``keypoint_score``
        (max |difference|, pixels for coordinates; None without detections), ``labels_equal``,
        ``num_keypoints``, ``num_unconditioned`` and ``unconditioned`` (their max difference), and
        ``ok`` (equal N and labels, everything compared within COORD_TOL * image_size / SCORE_TOL).
    """
    num_ref, num_out = len(reference['dets']), len(outputs['dets'])
    result = dict(
        num_reference=num_ref,
        num_outputs=num_out,
        box=None,
        score=None,
        keypoint=None,
        keypoint_score=None,
        num_keypoints=0,
        num_unconditioned=0,
        unconditioned=None,
        labels_equal=bool(np.array_equal(reference['labels'], outputs['labels'])))
    if num_ref == num_out and num_ref > 0:
        ref_d, out_d = reference['dets'], outputs['dets']
        ref_k, out_k = reference['keypoints'], outputs['keypoints']
        region = reference['regions'][:, None]
        inside = ((ref_k[..., 0] >= region[..., 0]) & (ref_k[..., 1] >= region[..., 1])
                  & (ref_k[..., 0] <= region[..., 2]) & (ref_k[..., 1] <= region[..., 3]))
        coords = np.abs(ref_k[..., :2] - out_k[..., :2]).max(-1)
        result.update(
            box=float(np.abs(ref_d[:, :4] - out_d[:, :4]).max()),
            score=float(np.abs(ref_d[:, 4] - out_d[:, 4]).max()),
            keypoint=float(coords[inside].max()) if inside.any() else 0.0,
            keypoint_score=float(np.abs(ref_k[..., 2] - out_k[..., 2]).max()),
            num_keypoints=int(inside.size),
            num_unconditioned=int((~inside).sum()),
            unconditioned=float(coords[~inside].max()) if (~inside).any() else None)
    coord_tol = COORD_TOL * image_size
    result['ok'] = bool(num_ref == num_out and result['labels_equal']
                        and (num_ref == 0 or
                             (result['box'] <= coord_tol and result['keypoint'] <= coord_tol
                              and result['score'] <= SCORE_TOL and result['keypoint_score'] <= SCORE_TOL)))
    result.update(coord_tol=coord_tol, score_tol=SCORE_TOL)
    return result


def format_comparison(result):
    """One line per figure of :func:`compare_outputs`."""

    def fmt(value):
        return 'n/a' if value is None else f'{value:.3g}'

    lines = [
        f"detections: PyTorch {result['num_reference']}, onnxruntime {result['num_outputs']}"
        f"{'' if result['labels_equal'] else ' (labels differ)'}",
        f"max |box difference| {fmt(result['box'])} px, max |keypoint difference| "
        f"{fmt(result['keypoint'])} px (tolerance {result['coord_tol']:.3g} px)",
        f"keypoints outside their RoI (ill-conditioned refinement, not held to the tolerance): "
        f"{result['num_unconditioned']} of {result['num_keypoints']}, max |difference| "
        f"{fmt(result['unconditioned'])} px",
        f"max |instance score difference| {fmt(result['score'])}, max |keypoint score difference| "
        f"{fmt(result['keypoint_score'])} (tolerance {result['score_tol']:.0e})",
        'PASS' if result['ok'] else 'FAIL: onnxruntime and PyTorch disagree beyond the tolerances'
    ]
    return '\n'.join(lines)
