"""onnxruntime sessions for every model, created one way: CPU, quiet, no telemetry.

onnxruntime's Linux wheels carry Microsoft's 1DS telemetry client, which at
import writes a device id under ~/.cache and queues events for upload;
`unseen/__init__.py` sets ORT_DISABLE_TELEMETRY before any import of it, and
sessions are created here with telemetry events switched off as well.
"""

from __future__ import annotations

import onnxruntime as ort


def make_session(model: bytes, threads: int = 0) -> ort.InferenceSession:
    """A CPU inference session for a serialized ONNX model."""
    ort.disable_telemetry_events()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
