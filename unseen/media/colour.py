"""What a video's numbers mean as colours, kept from input to output.

`ColourTags` are a stream's colour primaries, transfer, matrix and range (FFmpeg's
codes); an output carries the input's, except that HDR (PQ or HLG) becomes SDR
BT.709, converted by `SdrConverter` (FFmpeg's swscale: tone and gamut mapping).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, Colorspace, ColorTrc, VideoReformatter
from numpy.typing import NDArray

from unseen.errors import UnsupportedFormatError
from unseen.i18n import N_

UNSPECIFIED = 2  # AVCOL_PRI/TRC/SPC_UNSPECIFIED
HDR_TRANSFERS = {int(ColorTrc.SMPTE2084): "PQ", int(ColorTrc.ARIB_STD_B67): "HLG"}
BT709 = 1  # AVCOL_PRI_BT709 = AVCOL_TRC_BT709 = AVCOL_SPC_BT709
LIMITED = 1  # AVCOL_RANGE_MPEG (2, JPEG: full range)

# swscale converts YUV to and from RGB with these matrices (AVColorSpace -> SWS_CS_*);
# others (RGB, YCgCo, BT.2020 constant luminance, ICtCp ...) are written as untagged
# BT.601.
_SWS_MATRIX = {1: Colorspace.ITU709, 4: Colorspace.FCC, 5: Colorspace.ITU601,
               6: Colorspace.ITU601, 7: Colorspace.SMPTE240M, 9: Colorspace.BT2020}


@dataclass(frozen=True)
class ColourTags:
    """A stream's colour description, as FFmpeg codes (2: unspecified; range 0: unspecified)."""

    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED
    matrix: int = UNSPECIFIED
    range: int = 0

    @classmethod
    def of(cls, frame: Any) -> ColourTags:
        """The tags of a decoded frame (the stream's, or else the container's)."""
        return cls(int(frame.color_primaries), int(frame.color_trc), int(frame.colorspace),
                   int(frame.color_range))

    @property
    def hdr(self) -> str | None:
        """``PQ`` or ``HLG`` for high dynamic range video, else None."""
        return HDR_TRANSFERS.get(self.transfer)

    @property
    def output(self) -> ColourTags:
        """What the output says: the same, or SDR BT.709 (limited range) for HDR."""
        if self.hdr:
            return ColourTags(BT709, BT709, BT709, LIMITED)
        matrix = self.matrix if self.matrix in _SWS_MATRIX else UNSPECIFIED
        return ColourTags(self.primaries, self.transfer, matrix, self.range)

    @property
    def sws_matrix(self) -> Colorspace | None:
        """swscale's matrix for these tags (None: its default, BT.601)."""
        return _SWS_MATRIX.get(self.matrix)


UNTAGGED = ColourTags()


class SdrConverter:
    """HDR frames to SDR BT.709 RGB (tone and gamut mapping by FFmpeg's swscale).

    swscale builds its mapping once per conversion set-up (seconds of work), so
    a converter keeps one set-up per kind of frame (size, format, tags) and
    always converts at full size; `for_this_thread` shares one between the
    passes over a video and the videos after it.
    """

    MAX_SETUPS = 4

    def __init__(self) -> None:
        self._setups: dict[tuple[object, ...], VideoReformatter] = {}

    @classmethod
    def for_this_thread(cls) -> SdrConverter:
        converter: SdrConverter | None = getattr(_local, "sdr", None)
        if converter is None:
            converter = _local.sdr = cls()
        return converter

    def rgb(self, frame: Any) -> NDArray[np.uint8]:
        key = (frame.width, frame.height, frame.format.name, int(frame.color_trc),
               int(frame.color_primaries), int(frame.colorspace), int(frame.color_range))
        setup = self._setups.get(key)
        if setup is None:
            if len(self._setups) >= self.MAX_SETUPS:
                self._setups.pop(next(iter(self._setups)))
            setup = self._setups[key] = VideoReformatter()
        try:
            out: Any = setup.reformat(frame, format="rgb24", dst_color_trc=ColorTrc.BT709,
                                      dst_color_primaries=ColorPrimaries.BT709)
        except av.error.FFmpegError as exc:
            raise UnsupportedFormatError(
                N_("this HDR video cannot be converted to SDR ({reason})").format(
                    reason=exc.strerror or exc)) from exc
        return out.to_ndarray()


_local = threading.local()
