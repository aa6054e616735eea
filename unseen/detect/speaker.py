"""Who is speaking: Resemblyzer's GE2E speaker encoder, run in numpy without torch.

The weights ship inside unseen (``weights/ge2e-resemblyzer-0.1.4.npz``): the
arrays of Resemblyzer 0.1.4's ``pretrained.pt`` (Copyright 2019 Resemble.AI,
Apache-2.0; ``weights/NOTICE`` and ``weights/LICENSE.resemblyzer``), float32 as
stored, converted once by ``scripts/weights.py`` with the restricted unpickler
below (a legacy torch pickle, read knowing only tensors and ordered dicts). The
network (three LSTM layers 40->256, a 256->256 projection, ReLU, L2 norm) and its
mel front end (40 mel bands of the power spectrum, 25 ms windows every 10 ms at
16 kHz, as librosa computes them) are written out below; utterances are embedded
as Resemblyzer's ``embed_utterance`` does (partials of 160 frames, 77 frames
apart, averaged).
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from unseen.detect import shipped

SAMPLE_RATE = 16000
N_FFT = 400
"""25 ms windows."""
HOP = 160
"""10 ms steps."""
N_MELS = 40
PARTIAL_FRAMES = 160
"""Frames (1.6 s) in one partial utterance."""
PARTIAL_RATE = 1.3
"""Partials per second (Resemblyzer's default): 77 frames apart, about half overlapping."""
MIN_COVERAGE = 0.75
NORM_TARGET_DBFS = -30.0
"""Quiet utterances are raised to this level first (the mel is not logarithmic)."""
MODEL_VERSION = "resemblyzer-ge2e-0.1.4 (numpy)"

Embedding = NDArray[np.float32]

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


WEIGHTS_FILE = shipped.SPEAKER
WEIGHT_NAMES = tuple(
    [f"lstm.{kind}_l{k}" for k in range(3)
     for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    + ["linear.weight", "linear.bias"])
"""The arrays the network needs, by their names in Resemblyzer's state dict."""


class SpeakerModelMissingError(shipped.ModelFileError):
    """The speaker encoder's weights are missing from unseen's package, or damaged."""


def weights_path() -> Path:
    """The shipped weights (``unseen/detect/weights/``), checked against their hash."""
    why = shipped.problem(WEIGHTS_FILE)
    if why is not None:
        raise SpeakerModelMissingError(why)
    return shipped.WEIGHTS_DIR / WEIGHTS_FILE


def load_weights(path: Path | None = None) -> dict[str, NDArray[np.float32]]:
    """The network's arrays by name: from the shipped ``.npz`` (no pickle allowed),
    or from a Resemblyzer ``pretrained.pt`` when ``path`` names one."""
    path = path or weights_path()
    if path.suffix == ".pt":
        state = load_legacy_checkpoint(path)["model_state"]
        return {name: state[name] for name in WEIGHT_NAMES}
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: np.asarray(npz[name], np.float32) for name in WEIGHT_NAMES}
    except (OSError, KeyError, ValueError, EOFError) as exc:
        raise SpeakerModelMissingError(shipped.DAMAGED.format(file=path.name)) from exc


# --- reading a legacy torch checkpoint without torch -----------------------------

@dataclass
class _Storage:
    dtype: Any
    size: int
    data: NDArray[Any] | None = None


@dataclass
class _Tensor:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def array(self) -> NDArray[Any]:
        data = self.storage.data
        if data is None:
            raise ValueError("tensor storage was not read")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.shape, strides=[s * item for s in self.stride])
        return np.array(view)


def _rebuild_tensor_v2(storage: _Storage, offset: int, shape: tuple[int, ...],
                       stride: tuple[int, ...], *_: Any) -> _Tensor:
    return _Tensor(storage, int(offset), tuple(shape), tuple(stride))


class _CheckpointUnpickler(pickle.Unpickler):
    """Only what a state dict holds: tensors over raw storages and ordered dicts."""

    def __init__(self, f: io.BufferedIOBase, storages: dict[str, _Storage]) -> None:
        super().__init__(f)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return lambda data, *_: data
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the model file")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError("unexpected reference in the model file")
        _, dtype, key, _location, size, view = pid[:6]
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if key not in self._storages:
            self._storages[key] = _Storage(dtype, int(size))
        return self._storages[key]


def load_legacy_checkpoint(path: Path) -> dict[str, Any]:
    """A torch (<1.6, non-zip) checkpoint as nested dicts of numpy arrays."""
    with path.open("rb") as f:
        storages: dict[str, _Storage] = {}

        def load() -> Any:
            return _CheckpointUnpickler(f, storages).load()

        magic, protocol, _sys_info = load(), load(), load()
        if magic != 0x1950A86A20F9469CFC6C or protocol != 1001:
            raise ValueError("not a legacy torch checkpoint")
        obj = load()
        keys = load()
        for key in keys:
            st = storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            nbytes = count * np.dtype(st.dtype).itemsize
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise ValueError("the model file is truncated")
            st.data = np.frombuffer(raw, dtype=st.dtype, count=count)
        return _materialised(obj)


def _materialised(obj: Any) -> Any:
    if isinstance(obj, _Tensor):
        return obj.array()
    if isinstance(obj, dict):
        return {k: _materialised(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_materialised(v) for v in obj)
    return obj


# --- front end ----------------------------------------------------------------

def _hz_to_mel(f: NDArray[np.float64]) -> NDArray[np.float64]:
    """Slaney's mel scale (librosa's default, ``htk=False``)."""
    f = np.asarray(f, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mel = f / f_sp
    high = f >= min_log_hz
    mel[high] = min_log_mel + np.log(f[high] / min_log_hz) / logstep
    return mel


def _mel_to_hz(m: NDArray[np.float64]) -> NDArray[np.float64]:
    m = np.asarray(m, np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    f = f_sp * m
    high = m >= min_log_mel
    f[high] = min_log_hz * np.exp(logstep * (m[high] - min_log_mel))
    return f


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS
                   ) -> NDArray[np.float32]:
    """``(n_mels, n_fft // 2 + 1)`` triangles, Slaney-normalised (``librosa.filters.mel``)."""
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0],
                                   _hz_to_mel(np.array([sr / 2.0]))[0], n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


_MEL = mel_filterbank()
# Periodic Hann window (scipy.signal.get_window("hann", N_FFT)); numpy keeps
# scipy.signal, seconds to import, out of every photo run.
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def _sigmoid(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """The logistic function (scipy.special.expit), stable for any x."""
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(x.dtype, copy=False)


def mel_frames(wav: NDArray[np.floating]) -> NDArray[np.float32]:
    """``(frames, 40)`` mel power spectrogram (``librosa.feature.melspectrogram``,
    centred frames with zero padding: librosa >= 0.10)."""
    x = np.pad(np.asarray(wav, np.float32), (N_FFT // 2, N_FFT // 2))
    n = 1 + (len(x) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n, N_FFT), strides=(x.strides[0] * HOP, x.strides[0]))
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    return (power.astype(np.float32) @ _MEL.T).astype(np.float32)


def normalised_volume(wav: NDArray[np.floating]) -> NDArray[np.float32]:
    """Raise (never lower) the level to -30 dBFS, as Resemblyzer's preprocessing does."""
    x = np.asarray(wav, np.float32)
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    if rms <= 1e-9:
        return x
    change = NORM_TARGET_DBFS - 20 * np.log10(rms)
    return x if change < 0 else (x * 10 ** (change / 20)).astype(np.float32)


def partial_slices(n_samples: int) -> list[slice]:
    """Mel-frame ranges of the partial utterances (Resemblyzer's ``compute_partial_slices``)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = int(np.round((SAMPLE_RATE / PARTIAL_RATE) / HOP))
    steps = max(1, n_frames - PARTIAL_FRAMES + step + 1)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in range(0, steps, step)]
    last = slices[-1]
    coverage = (n_samples - last.start * HOP) / ((last.stop - last.start) * HOP)
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices = slices[:-1]
    return slices


# --- the network ----------------------------------------------------------------

def _lstm_graph(state: dict[str, NDArray[Any]]) -> bytes:
    """The network as one ONNX graph (three LSTM nodes, projection, ReLU).

    onnxruntime runs the recurrence in one call on as many threads as asked;
    numpy's BLAS, called 480 times per utterance from Python, is slow on a
    busy machine. `SpeakerEncoder.embed_partials_numpy` is the same network
    written with numpy alone, for checking this graph.
    """
    from onnx import TensorProto, helper, numpy_helper

    hidden = 256
    # PyTorch's gate blocks are i, f, g(cell), o; ONNX wants i, o, f, c.
    order = np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in (0, 3, 1, 2)])
    inits, nodes = [], []
    x = "mels_tbf"
    nodes.append(helper.make_node("Transpose", ["mels"], [x], perm=[1, 0, 2]))
    for k in range(3):
        w = state[f"lstm.weight_ih_l{k}"][order][None].astype(np.float32)
        r = state[f"lstm.weight_hh_l{k}"][order][None].astype(np.float32)
        b = np.concatenate([state[f"lstm.bias_ih_l{k}"][order],
                            state[f"lstm.bias_hh_l{k}"][order]])[None].astype(np.float32)
        for name, arr in ((f"W{k}", w), (f"R{k}", r), (f"B{k}", b)):
            inits.append(numpy_helper.from_array(arr, name))
        nodes.append(helper.make_node("LSTM", [x, f"W{k}", f"R{k}", f"B{k}"],
                                      [f"Y{k}", f"H{k}"], hidden_size=hidden))
        inits.append(numpy_helper.from_array(np.array([1], np.int64), f"ax{k}"))
        nodes.append(helper.make_node("Squeeze", [f"Y{k}", f"ax{k}"], [f"X{k + 1}"]))
        x = f"X{k + 1}"
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "ax_h"))
    nodes.append(helper.make_node("Squeeze", ["H2", "ax_h"], ["last"]))
    inits.append(numpy_helper.from_array(
        np.ascontiguousarray(state["linear.weight"].T.astype(np.float32)), "proj_w"))
    inits.append(numpy_helper.from_array(state["linear.bias"].astype(np.float32), "proj_b"))
    nodes += [helper.make_node("MatMul", ["last", "proj_w"], ["proj"]),
              helper.make_node("Add", ["proj", "proj_b"], ["proj_biased"]),
              helper.make_node("Relu", ["proj_biased"], ["embeds"])]
    graph = helper.make_graph(
        nodes, "ge2e",
        [helper.make_tensor_value_info("mels", TensorProto.FLOAT, ["batch", "frames", N_MELS])],
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


class SpeakerEncoder:
    """GE2E speaker embeddings (256 values, L2-normalised, non-negative)."""

    name = "resemblyzer"
    version = MODEL_VERSION

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        from unseen.detect.onnx import make_session

        self._state = load_weights(path)
        self._session = make_session(_lstm_graph(self._state), threads)
        self._lock = threading.Lock()

    def embed_partials(self, mels: NDArray[np.float32]) -> NDArray[np.float32]:
        """``(batch, frames, 40)`` mel partials -> ``(batch, 256)`` unit embeddings."""
        with self._lock:
            (e,) = self._session.run(None, {"mels": np.asarray(mels, np.float32)})
        e = np.asarray(e, np.float32)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)

    def embed_partials_numpy(self, mels: NDArray[np.float32]) -> NDArray[np.float32]:
        """The same network in plain numpy (slow; the reference for the graph)."""
        st = self._state
        x = np.asarray(mels, np.float32)
        batch, steps, _ = x.shape
        h = np.zeros((batch, 256), np.float32)
        for k in range(3):
            w_ih, w_hh = st[f"lstm.weight_ih_l{k}"].T, st[f"lstm.weight_hh_l{k}"].T
            pre = x @ w_ih + (st[f"lstm.bias_ih_l{k}"] + st[f"lstm.bias_hh_l{k}"])
            h = np.zeros((batch, 256), np.float32)
            c = np.zeros((batch, 256), np.float32)
            out = np.empty((batch, steps, 256), np.float32)
            for t in range(steps):
                g = pre[:, t] + h @ w_hh
                i, f = _sigmoid(g[:, :256]), _sigmoid(g[:, 256:512])
                cell, o = np.tanh(g[:, 512:768]), _sigmoid(g[:, 768:])
                c = f * c + i * cell
                h = o * np.tanh(c)
                out[:, t] = h
            x = out
        e = np.maximum(h @ st["linear.weight"].T + st["linear.bias"], 0.0)
        return (e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-9)).astype(
            np.float32)

    def partials(self, wav: NDArray[np.floating], normalise: bool = True
                 ) -> NDArray[np.float32]:
        """``(n, 160, 40)`` mel partials of a 16 kHz utterance (Resemblyzer's slicing)."""
        x = np.asarray(wav, np.float32)
        if normalise:
            x = normalised_volume(x)
        slices = partial_slices(len(x))
        need = slices[-1].stop * HOP
        if need >= len(x):
            x = np.pad(x, (0, need - len(x)))
        mel = mel_frames(x)
        return np.stack([mel[s] for s in slices])

    def embed(self, wav: NDArray[np.floating], sample_rate: int = SAMPLE_RATE,
              normalise: bool = True) -> Embedding:
        """One utterance (mono; speech only, silences already cut) -> its embedding."""
        x = np.asarray(wav, np.float32)
        if sample_rate != SAMPLE_RATE or x.ndim > 1:
            from unseen.detect.speech import to_mono_16k

            x = to_mono_16k(x, sample_rate)
        raw = self.embed_partials(self.partials(x, normalise)).mean(axis=0)
        return (raw / max(float(np.linalg.norm(raw)), 1e-9)).astype(np.float32)


def similarity(a: Embedding, b: Embedding) -> float:
    """Cosine similarity of two embeddings (both are unit length)."""
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-9))


def speech_only(wav: NDArray[np.floating], segments: list[tuple[float, float]],
                sample_rate: int = SAMPLE_RATE) -> NDArray[np.float32]:
    """The samples inside the segments, joined (what Resemblyzer's silence trimming keeps)."""
    x = np.asarray(wav, np.float32)
    parts = [x[int(s * sample_rate):int(e * sample_rate)] for s, e in segments]
    parts = [p for p in parts if len(p)]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)
