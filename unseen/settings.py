"""One dataclass of settings, with safe defaults, passed down explicitly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

from unseen.i18n import N_

RedactMethod = Literal["fill", "blur", "pixelate"]
RegionShape = Literal["ellipse", "box"]
VerifyMode = Literal["off", "fast", "full"]
CoverMode = Literal["face", "head", "body"]
AudioMode = Literal["drop", "keep", "mute-speech", "disguise"]
AUDIO_MODES: tuple[AudioMode, ...] = ("drop", "keep", "mute-speech", "disguise")
"""What can happen to a video's sound (unseen.audio)."""
Precision = Literal["fp32", "int8"]
PRECISIONS: tuple[str, ...] = ("fp32", "int8")


@dataclass(frozen=True)
class Settings:
    """How `unseen` finds and removes faces. The defaults err toward covering."""

    redact: RedactMethod = "fill"
    """What happens inside a region: opaque ``fill`` (irreversible), or the
    weaker ``blur`` / ``pixelate`` (scaled with the face, plus noise)."""

    mask_scale: float = 1.3
    """Each detected box is grown by this factor around its centre before
    redaction, so forehead, chin and ears are inside the region."""

    shape: RegionShape = "ellipse"
    threshold: float = 0.05
    """Detection score threshold (CenterFace's scale). Low on purpose: a
    missed face is a leak, a false positive is a small cost."""

    detectors: tuple[str, ...] = ("centerface", "retinaface")
    """Models in the ensemble. ``centerface`` runs at every scale; the others
    add independent passes at native and doubled size."""

    max_pass_megapixels: float = 8.0
    """Pixel budget of one network pass; sets the up- and down-scaling."""

    tile_size: int = 4096
    """Passes larger than this on a side run as overlapping tiles."""

    # wider cover (unseen.cover) -------------------------------------------
    cover: CoverMode = "face"
    """How much of each person to cover: the ``face``, the whole ``head``
    (hair, ears) or the whole ``body`` (clothes, bags, shoes)."""

    crowd: bool | None = None
    """Cover bands through crowds of small faces, including faces the detector
    missed between found ones. None: on for photos with many small faces."""

    plates: bool = False
    """Also cover licence plates: PP-OCR's text detector, and its recogniser's
    reading and the region's shape tell a plate from other text."""

    text: bool = False
    """Also cover all other legible text (name tags, badges, street and shop
    signs, burned-in camera times). Off by default: a banner's slogan is often
    the point of the photo."""

    fill_color: tuple[int, int, int] = (0, 0, 0)
    jpeg_quality: int = 95
    max_image_megapixels: float = 250.0
    """Larger declared image sizes are refused before decoding (bombs)."""

    threads: int = 0
    """onnxruntime intra-op threads; 0 lets it use every core."""

    precision: Precision = "fp32"
    """Arithmetic of the redaction models (CenterFace, RetinaFace): ``fp32``,
    the weights as shipped, or ``int8`` (unseen.detect.quantize: derived at run
    time from them; faster, the same recall on bench/photos.py, but more false
    cover on photos with no person). The adversary is always fp32."""

    # verification (unseen.verify) ----------------------------------------------
    verify: VerifyMode = "fast"
    """Run the adversary on every written photo: ``fast`` (default), ``full``
    (more scales, every face re-identified) or ``off``."""

    allow_unsafe: bool = False
    """Keep an output the adversary judged unsafe, under a ``*.UNSAFE.*`` name,
    instead of deleting it."""

    # video ------------------------------------------------------------------
    audio: AudioMode = "drop"
    """What happens to a video's sound (unseen.audio): ``drop`` (default:
    voices identify people, A7), ``keep`` untouched, ``mute-speech`` (speech
    found by the VAD removed, the rest kept) or ``disguise`` (every voice
    transformed with parameters drawn per file). Muted and disguised sound
    is verified."""

    keep_audio: bool = False
    """Set from ``audio``: True when the sound is kept untouched (copied). Given
    as True with ``audio`` left at ``drop``, it means ``audio="keep"`` (the
    older spelling, as the CLI's ``--keep-audio``)."""

    crf: int = 20
    """H.264 quality (lower is better and larger; 18-23 is visually good)."""

    preset: str = "veryfast"
    """libx264 speed preset (ultrafast ... veryslow)."""

    partial_output: bool = False
    """On a damaged video, write the frames before the damage to a file
    named ``*.PARTIAL.*`` instead of writing nothing."""

    video_fps: float | None = None
    """Frame rate of raw H.264/H.265 streams (no container, no timestamps) whose
    parameter sets state none (None: such a stream is refused)."""

    video_keyframe_interval: int = 10
    """Every this many frames (and at every scene cut) the full multi-scale
    search runs; the frames between get a cheap single-scale pass."""

    video_deep_seconds: float = 1.0
    """Where faces may be too small for the key passes (video larger than they
    search at 2x), the photo search runs on a key frame instead of them: every
    model at every scale, confirmed, with a crowd's small candidates. It runs
    on the first key frame of every shot, then every this many seconds while
    the shot shows faces near the key passes' limit or a crowd, and ten times
    less often otherwise."""

    video_detect_stride: int = 2
    """The cheap pass runs on every this many frames; tracks fill the rest."""

    video_cheap_megapixels: float = 0.1
    """Pixel budget of the cheap pass (downscales larger video)."""

    video_key_megapixels: float = 1.0
    """Pixel budget of one pass of the full search on key frames."""

    track_pad_frames: int = 12
    """Cover every face this many frames before its first and after its
    last detection (within a shot)."""

    video_verify_every: int = 10
    """Verification judges every this many frames of a video (plus the frames
    where tracks start and end); 1 judges every frame."""

    def __post_init__(self) -> None:
        if self.redact not in ("fill", "blur", "pixelate"):
            raise ValueError(N_("unknown redaction method {value}").format(value=repr(self.redact)))
        if self.shape not in ("ellipse", "box"):
            raise ValueError(N_("unknown region shape {value}").format(value=repr(self.shape)))
        if not 1.0 <= self.mask_scale <= 4.0:
            raise ValueError(N_("mask scale must be between 1.0 and 4.0"))
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(N_("threshold must be between 0 and 1"))
        if self.cover not in ("face", "head", "body"):
            raise ValueError(N_("unknown cover mode {value}").format(value=repr(self.cover)))
        if not 0 < self.video_deep_seconds <= 3600:
            raise ValueError(N_("the deep search interval must be between 0 and 3600 seconds"))
        if self.video_fps is not None and not 0 < self.video_fps <= 1000:
            raise ValueError(N_("the frame rate must be above 0 and at most 1000"))
        if self.verify not in ("off", "fast", "full"):
            raise ValueError(N_("unknown verification mode {value}").format(
                value=repr(self.verify)))
        if self.audio not in AUDIO_MODES:
            raise ValueError(N_("unknown audio mode {value} ({known})").format(
                value=repr(self.audio), known=", ".join(AUDIO_MODES)))
        if self.precision not in PRECISIONS:
            raise ValueError(N_("unknown precision {value} ({known})").format(
                value=repr(self.precision), known=", ".join(PRECISIONS)))
        if self.keep_audio and self.audio == "drop":
            object.__setattr__(self, "audio", "keep")
        object.__setattr__(self, "keep_audio", self.audio == "keep")

    def with_audio(self, mode: AudioMode) -> Settings:
        """These settings with another audio mode (``keep_audio`` follows)."""
        return replace(self, audio=mode, keep_audio=mode == "keep")

    @property
    def processes_audio(self) -> bool:
        """Whether the sound is rewritten (muted or disguised) and then verified."""
        return self.audio in ("mute-speech", "disguise")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
