"""Export a small module with torch.onnx (TorchScript-based, as mmhrkpt.deployment does) and run it in
onnxruntime with its full graph optimisation, for the deployment tests."""
import io
import warnings

import numpy as np
import torch


def export_session(module, args, input_names, dynamic_axes=None, opset=17):
    """onnxruntime session (ORT_ENABLE_ALL, CPU) of ``module`` traced on ``args``."""
    import onnxruntime as ort
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(
            module,
            tuple(args),
            buffer,
            input_names=list(input_names),
            dynamic_axes=dynamic_axes or {},
            opset_version=opset,
            dynamo=False)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(buffer.getvalue(), options, providers=['CPUExecutionProvider'])


def run(session, *arrays):
    """The session's outputs for inputs given in order (tensors or arrays)."""
    names = [i.name for i in session.get_inputs()]
    feed = {n: np.asarray(a.numpy() if isinstance(a, torch.Tensor) else a) for n, a in zip(names, arrays)}
    return session.run(None, feed)
