"""Run an exported Keypoint R-CNN (tools/deployment/pytorch2onnx.py) with onnxruntime: BGR image in,
``inference_model``'s result dict out.

Shape legend: n detections, K keypoints, (H, W) the graph's input, (h, w) the resized image in it.

This module needs numpy, OpenCV and onnxruntime only (imported when a detector is made), not PyTorch,
mmcv or mmdet: the ONNX file's ``metadata_props`` carry the preprocessing and the keypoint meta
(``mmhrkpt/deployment/meta.py`` writes them), so the file can be copied next to a runtime alone.

The preprocessing repeats mmdet's test pipeline with the same OpenCV calls (mmcv's ``imrescale`` /
``imresize``, ``imnormalize``, ``impad``): the input equals what ``inference_model`` feeds the PyTorch
model. A model exported with ``--dynamic-export`` takes each image at its own padded size and gives
``inference_model``'s numbers; a static one takes the resized image padded further, to its fixed
(H, W), which is the same only for images whose padded size is (H, W) already.
"""
import json

import cv2
import numpy as np

# mmcv's names of OpenCV's interpolations.
INTERPOLATIONS = dict(
    nearest=cv2.INTER_NEAREST,
    bilinear=cv2.INTER_LINEAR,
    bicubic=cv2.INTER_CUBIC,
    area=cv2.INTER_AREA,
    lanczos=cv2.INTER_LANCZOS4)
# Metadata an exported model must carry.
REQUIRED_META = ('mean', 'std', 'to_rgb', 'test_scale', 'keep_ratio', 'num_keypoints', 'keypoint_names',
                 'skeleton', 'flip_pairs')


def read_metadata(props):
    """{key: JSON string} of an ONNX model's ``metadata_props`` -> {key: value}; other entries are left
    out."""
    meta = {}
    for key, text in props.items():
        try:
            meta[key] = json.loads(text)
        except ValueError:
            continue
    return meta


def resize(img, meta):
    """mmdet's ``Resize`` of the test pipeline.

    Args:
        img (np.ndarray[h0, w0, 3]): the image.
        meta (dict): ``test_scale``, ``keep_ratio``, ``interpolation``.

    Returns:
        tuple: the resized image and its ``scale_factor`` float32 [4] (w_scale, h_scale, w_scale,
        h_scale).
    """
    height, width = img.shape[:2]
    scale = meta['test_scale']
    if meta['keep_ratio']:
        # mmcv.rescale_size: the long edge fits max(scale), the short edge min(scale)
        factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
        size = (int(width * float(factor) + 0.5), int(height * float(factor) + 0.5))
    else:
        size = (int(scale[0]), int(scale[1]))
    interpolation = INTERPOLATIONS[meta.get('interpolation', 'bilinear')]
    resized = cv2.resize(img, size, interpolation=interpolation)
    w_scale, h_scale = resized.shape[1] / width, resized.shape[0] / height
    return resized, np.array([w_scale, h_scale, w_scale, h_scale], dtype=np.float32)


def normalize(img, meta):
    """mmcv's ``imnormalize``: float32, BGR -> RGB if ``to_rgb``, (img - mean) / std."""
    img = img.astype(np.float32)
    mean = np.float64(np.asarray(meta['mean'], dtype=np.float32).reshape(1, -1))
    stdinv = 1 / np.float64(np.asarray(meta['std'], dtype=np.float32).reshape(1, -1))
    if meta['to_rgb']:
        cv2.cvtColor(img, cv2.COLOR_BGR2RGB, img)
    cv2.subtract(img, mean, img)
    cv2.multiply(img, stdinv, img)
    return img


def padded_size(height, width, meta):
    """(H, W) mmdet's ``Pad`` gives an image of (h, w): the next multiple of ``size_divisor`` or
    ``pad_size``."""
    if 'size_divisor' in meta:
        divisor = meta['size_divisor']
        return int(np.ceil(height / divisor)) * divisor, int(np.ceil(width / divisor)) * divisor
    return tuple(meta['pad_size'])


def preprocess(img, meta, input_size=None):
    """The test pipeline: resize, normalise, pad (bottom and right).

    Args:
        img (np.ndarray[h0, w0, 3]): BGR image (uint8).
        meta (dict): the model's metadata.
        input_size (tuple[int, int] | None): pad to this (H, W) instead of the pipeline's own padding
            (a model with a fixed input size).

    Returns:
        tuple: ``input`` float32 [1, 3, H, W], ``img_shape`` (h, w) of the resized image in it and its
        ``scale_factor`` float32 [4].
    """
    resized, scale_factor = resize(img, meta)
    height, width = resized.shape[:2]
    target = padded_size(height, width, meta) if input_size is None else tuple(input_size)
    if height > target[0] or width > target[1]:
        raise ValueError(f'the resized image ({height}, {width}) does not fit the input size {target}; '
                         'export with --dynamic-export or a larger --shape')
    normalized = normalize(resized, meta)
    padded = cv2.copyMakeBorder(
        normalized,
        0,
        target[0] - height,
        0,
        target[1] - width,
        cv2.BORDER_CONSTANT,
        value=meta.get('pad_val', 0))
    return padded.transpose(2, 0, 1)[None].copy(), (height, width), scale_factor


def create_session(path, providers=('CPUExecutionProvider', ), num_threads=None):
    """An onnxruntime ``InferenceSession`` for ``path``.

    Its log shows errors only: onnxruntime warns about every initializer that is also a graph input,
    which the optional ``img_shape`` input is by design.
    """
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if num_threads:
        options.intra_op_num_threads = int(num_threads)
    return ort.InferenceSession(str(path), options, providers=list(providers))


class ONNXKeypointDetector:
    """An exported Keypoint R-CNN in onnxruntime.

    Args:
        path (str): the .onnx file.
        providers (Sequence[str]): onnxruntime execution providers.
        num_threads (int | None): onnxruntime's intra-op threads (default: its own).
    """

    def __init__(self, path, providers=('CPUExecutionProvider', ), num_threads=None):
        self.path = str(path)
        self.session = create_session(self.path, providers, num_threads)
        self.meta = read_metadata(self.session.get_modelmeta().custom_metadata_map)
        missing = [key for key in REQUIRED_META if key not in self.meta]
        if missing:
            raise ValueError(f'{self.path}: no {missing} in its metadata_props; export it with '
                             'tools/deployment/pytorch2onnx.py')
        shape = self.session.get_inputs()[0].shape
        self.input_size = tuple(shape[2:]) if all(isinstance(s, int) for s in shape[2:]) else None
        names = {i.name for i in self.session.get_inputs()}
        names |= {i.name for i in self.session.get_overridable_initializers()}
        self.takes_img_shape = 'img_shape' in names

    @property
    def num_keypoints(self):
        return int(self.meta['num_keypoints'])

    @property
    def keypoint_names(self):
        return list(self.meta['keypoint_names'])

    @property
    def skeleton(self):
        return [tuple(edge) for edge in self.meta['skeleton']]

    def run(self, inputs, img_shape=None):
        """The graph on a preprocessed input.

        Args:
            inputs (np.ndarray): float32 [1, 3, H, W].
            img_shape (tuple[int, int] | None): (h, w) of the image inside ``inputs`` (default: all).

        Returns:
            tuple[np.ndarray]: dets [n, 5], labels [n], keypoints [n, K, 3], in the pixels of ``inputs``.
        """
        feed = dict(input=np.ascontiguousarray(inputs, dtype=np.float32))
        if img_shape is not None and self.takes_img_shape:
            feed['img_shape'] = np.asarray(img_shape, dtype=np.int64)
        dets, labels, keypoints = self.session.run(['dets', 'labels', 'keypoints'], feed)
        return dets, labels, keypoints

    def __call__(self, img):
        """Detect the persons and their keypoints in one image.

        Args:
            img (str | np.ndarray[h0, w0, 3]): image path or BGR array.

        Returns:
            dict: as ``mmhrkpt.apis.inference_model``: ``bboxes`` [n, 4] (x1, y1, x2, y2), ``scores``
            [n] (instance score), ``labels`` [n], ``keypoints`` [n, K, 3] (x, y, keypoint score), in
            the image's pixels, sorted by score.
        """
        if isinstance(img, str):
            path, img = img, cv2.imread(img, cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(f'cannot read the image {path}')
        inputs, img_shape, scale_factor = preprocess(img, self.meta, self.input_size)
        dets, labels, keypoints = self.run(inputs, img_shape)
        bboxes = dets[:, :4] / scale_factor
        keypoints = keypoints.copy()
        keypoints[..., :2] /= scale_factor[:2]
        order = np.argsort(-dets[:, 4], kind='stable')
        return dict(
            bboxes=bboxes[order],
            scores=dets[order, 4],
            labels=labels[order].astype(np.int64),
            keypoints=keypoints[order])
