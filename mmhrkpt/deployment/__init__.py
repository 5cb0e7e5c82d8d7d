"""Deployment: the whole Keypoint R-CNN (decoding included) as one ONNX graph, and a runtime for it.

* :class:`KeypointRCNNExport` (``export_model``): the detector's test path as a traceable module;
* :func:`export_onnx` (``onnx_export``): trace it, write the file with its metadata; helpers that
  compare onnxruntime with PyTorch (``tools/deployment/pytorch2onnx.py --verify``);
* :class:`ONNXKeypointDetector` (``onnx_detector``): BGR image in, ``inference_model``'s dict out.

Not imported by ``import mmhrkpt``; ``onnx`` and ``onnxruntime`` (``pip install -e .[deploy]``) are
imported only by the functions that use them.
"""
from .export_model import KeypointRCNNExport
from .meta import model_meta
from .onnx_detector import ONNXKeypointDetector
from .onnx_export import compare_outputs, export_onnx, onnx_outputs, pytorch_outputs

__all__ = [
    'KeypointRCNNExport', 'model_meta', 'ONNXKeypointDetector', 'export_onnx', 'pytorch_outputs',
    'onnx_outputs', 'compare_outputs'
]
