"""Photos in and out with Pillow (and pillow-heif for HEIC/HEIF).

Reading applies the EXIF orientation and converts to sRGB RGB pixels, so the
detector sees the picture upright. Writing starts from pixels alone: no EXIF,
thumbnail, XMP, IPTC, ICC profile or text chunk of the original can follow.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from unseen.errors import CorruptMediaError, TooLargeError, UnseenError, UnsupportedFormatError
from unseen.i18n import N_
from unseen.media.atomic import atomic_output

try:  # HEIC/HEIF support is a dependency, but keep a clear message if broken.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover
    HEIF_AVAILABLE = False

# Pillow format name -> the name we save with.
WRITABLE = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "WEBP": "WEBP",
    "TIFF": "TIFF",
    "BMP": "BMP",
    "HEIF": "HEIF",
}
NOT_YET = {"GIF": "GIF", "MPO": None, "AVIF": "AVIF"}
MAX_MEGAPIXELS = 250.0
"""The largest photo read by default (`unseen.settings.Settings.max_image_megapixels`)."""
# Pillow's own guard against decompression bombs warns above its limit (89 MP) and
# refuses above twice that (179 MP), below the documented 250: it warns above our
# default instead and refuses above twice it; `_decode` refuses what is above the
# run's limit before anything is decoded.
Image.MAX_IMAGE_PIXELS = int(MAX_MEGAPIXELS * 1e6)


@dataclass(frozen=True)
class Photo:
    """An upright RGB picture and what is needed to write it back the same way."""

    pixels: NDArray[np.uint8]  # (H, W, 3) RGB, sRGB
    format: str  # Pillow format name of the source: JPEG, PNG, ...
    alpha: NDArray[np.uint8] | None = None  # (H, W) if the source had transparency
    grayscale: bool = False

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def read_photo(path: Path, max_megapixels: float = MAX_MEGAPIXELS) -> Photo:
    """Decode ``path`` into an upright sRGB `Photo`, or raise an `UnseenError`."""
    try:
        with warnings.catch_warnings():
            # The declared size is checked against ``max_megapixels`` before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise TooLargeError(N_("declares a huge image size ({reason})").format(
            reason=exc)) from exc
    except UnidentifiedImageError as exc:
        raise CorruptMediaError(N_("not an image, or damaged beyond reading")) from exc
    except OSError as exc:
        raise CorruptMediaError(N_("cannot be read: {reason}").format(
            reason=exc.strerror or exc)) from exc
    except Exception as exc:  # Pillow's parsers raise many types on damaged input
        raise CorruptMediaError(N_("damaged image header ({reason})").format(
            reason=f"{type(exc).__name__}: {exc}")) from exc
    with im:
        try:
            return _decode(im, max_megapixels)
        except (UnseenError, KeyboardInterrupt):
            raise
        except MemoryError as exc:
            raise TooLargeError(N_("needs more memory than this machine has")) from exc
        except Exception as exc:  # a reader bug on hostile input is a per-file error
            raise CorruptMediaError(N_("damaged image data ({reason})").format(
                reason=f"{type(exc).__name__}: {exc}")) from exc


def _decode(im: Image.Image, max_megapixels: float) -> Photo:
    fmt = im.format or "?"
    if fmt == "MPO":
        # Multi-picture JPEG (phone "depth" or stereo pairs): the first frame is
        # the photo; the secondary images are not carried over to the output.
        fmt = "JPEG"
    if fmt not in WRITABLE:
        raise UnsupportedFormatError(N_("{format} images are not supported yet").format(
            format=fmt))
    w, h = im.size
    if w * h > max_megapixels * 1e6:
        raise TooLargeError(
            N_("is {width}x{height} pixels ({mp} MP), above the {limit} MP limit").format(
                width=w, height=h, mp=f"{w * h / 1e6:.0f}", limit=f"{max_megapixels:.0f}")
        )
    n_frames = int(getattr(im, "n_frames", 1))
    if n_frames > 1 and fmt != "JPEG":
        raise UnsupportedFormatError(
            N_("holds {n} frames (animated or multi-page {format}): not supported "
               "yet").format(n=n_frames, format=fmt)
        )
    icc = im.info.get("icc_profile")
    try:
        im.load()
        im = ImageOps.exif_transpose(im) or im
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CorruptMediaError(N_("truncated or damaged image data ({reason})").format(
            reason=exc)) from exc
    grayscale = im.mode in ("1", "L", "LA", "I", "I;16", "F")
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    alpha = None
    if has_alpha:
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.uint8).copy()
        rgb = rgba.convert("RGB")
    elif im.mode in ("I", "I;16", "F"):
        # 16-bit and float greyscale: scale to 8 bits for detection and output.
        a = np.asarray(im, dtype=np.float64)
        hi = max(float(a.max()), 1.0)
        rgb = Image.fromarray((a / hi * 255).astype(np.uint8)).convert("RGB")
    else:
        rgb = im.convert("RGB")
    if icc and not grayscale:
        rgb = _to_srgb(rgb, icc)
    return Photo(np.asarray(rgb, dtype=np.uint8).copy(), fmt, alpha, grayscale)


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    """Convert colours from the embedded profile to sRGB, so the output can
    drop the profile (which may name the device) without shifting colours."""
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        out = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
        return out if out is not None else im
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im  # an unusable profile: keep the raw values


def encode_photo(photo: Photo, fmt: str | None = None, jpeg_quality: int = 95) -> bytes:
    """Encode pixels alone into ``fmt`` (default: the source's format)."""
    fmt = WRITABLE.get(fmt or photo.format, "PNG")
    im = Image.fromarray(photo.pixels, "RGB")
    if photo.grayscale:
        im = im.convert("L")
    if photo.alpha is not None and fmt in ("PNG", "WEBP", "TIFF", "HEIF"):
        im.putalpha(Image.fromarray(photo.alpha, "L"))
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=jpeg_quality, subsampling=0, optimize=True)
        return strip_jfif(buf.getvalue())
    if fmt == "WEBP":
        im.save(buf, "WEBP", quality=jpeg_quality, method=4)
    elif fmt == "TIFF":
        im.save(buf, "TIFF", compression="tiff_adobe_deflate")
    elif fmt == "HEIF":
        # x265 "ultrafast": 7x quicker than the default here, ~8 % larger files.
        im.save(buf, "HEIF", quality=jpeg_quality, enc_params={"preset": "ultrafast"})
    else:
        im.save(buf, fmt)
    return buf.getvalue()


def strip_jfif(data: bytes) -> bytes:
    """Drop the JFIF APP0 segment libjpeg writes (density fields only, but
    still a tag); decoders do not need it."""
    if data[:4] == b"\xff\xd8\xff\xe0":
        length = int.from_bytes(data[4:6], "big")
        if data[6:11] == b"JFIF\x00":
            return data[:2] + data[4 + length :]
    return data


def write_photo(photo: Photo, dest: Path, jpeg_quality: int = 95) -> None:
    """Write ``photo`` to ``dest`` atomically, in the format of its source."""
    data = encode_photo(photo, jpeg_quality=jpeg_quality)
    with atomic_output(dest) as tmp:
        tmp.write_bytes(data)
