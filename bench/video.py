"""Video speed and leaks: unseen vs the `deface` CLI on the same clips, same run.

Prints a Markdown table: frames/s for unseen (as by default, verified, and
with ``--verify off``, like for like with deface, which checks nothing), for
``deface --backend opencv``
and for plain PyAV decode+encode (the ceiling), and the number of output
frames in which an independent sensitive detector (RetinaFace, upscaled, low
threshold) still finds a face that it also finds in the matching input frame.

    python bench/video.py [--data ../shared/data] [--quick]

Clips: ../shared/data/video at their own size, plus the Hamilton clip scaled
to 1280x720 and 1920x1080 (written to a temporary folder, never the repo).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
from evaluate import leaked_frames

from unseen.detect.retinaface import RetinaFace
from unseen.pipeline import Anonymizer
from unseen.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def upscale(src: Path, dest: Path, width: int, height: int) -> Path:
    """A resized copy (video only), standing in for 720p/1080p footage."""
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        vin = inp.streams.video[0]
        v = out.add_stream("libx264", rate=vin.average_rate)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.time_base = vin.time_base
        v.options = {"crf": "16", "preset": "veryfast"}
        for frame in inp.decode(vin):
            f = frame.reformat(width=width, height=height, format="yuv420p")
            f.pts, f.time_base = frame.pts, frame.time_base
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return dest


def frames_of(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def ceiling_fps(src: Path, dest: Path) -> float:
    """Decode, convert to RGB and back, encode (libx264, unseen's defaults)."""
    s = Settings()
    start = time.perf_counter()
    n = 0
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        v = out.add_stream("libx264", rate=vin.average_rate)
        v.width, v.height, v.pix_fmt = vin.width, vin.height, "yuv420p"
        v.time_base = vin.time_base
        v.options = {"crf": str(s.crf), "preset": s.preset}
        for frame in inp.decode(vin):
            f = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            f.pts, f.time_base = frame.pts, frame.time_base
            for p in v.encode(f):
                out.mux(p)
            n += 1
        for p in v.encode():
            out.mux(p)
    return n / (time.perf_counter() - start)


def run_deface(src: Path, dest: Path) -> tuple[float, str | None]:
    exe = shutil.which("deface") or str(Path(sys.executable).with_name("deface"))
    start = time.perf_counter()
    proc = subprocess.run(
        [exe, "--backend", "opencv", "--replacewith", "solid", "-o", str(dest), str(src)],
        capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or not dest.exists():
        return seconds, (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return seconds, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--quick", action="store_true", help="native-size clips only")
    ap.add_argument("--no-leaks", action="store_true", help="skip the sensitive detector")
    a = ap.parse_args()
    video_dir = a.data / "video"
    if not video_dir.is_dir():
        sys.exit(f"no test data at {video_dir}")
    work = Path(tempfile.mkdtemp(prefix="unseen-bench-video-"))
    clips = sorted(video_dir.glob("*.mp4"))
    if not a.quick:
        ham = video_dir / "short_hamilton_clip.mp4"
        clips.append(upscale(ham, work / "hamilton_720p.mp4", 1280, 720))
        clips.append(upscale(ham, work / "hamilton_1080p.mp4", 1920, 1080))
    engine = Anonymizer(Settings())
    plain = Anonymizer(Settings(verify="off"))
    # Load every model before timing: run once on a short cut of the first clip.
    warm = upscale(clips[0], work / "warmup.mp4", 320, 192)
    engine.file(warm, work / "warmup-out.mp4")
    plain.file(warm, work / "warmup-plain.mp4")
    sensitive = RetinaFace()
    rows = []
    for clip in clips:
        with av.open(str(clip)) as c:
            v = c.streams.video[0]
            size = f"{v.width}x{v.height}"
        n = frames_of(clip)
        ceiling = ceiling_fps(clip, work / f"ceiling-{clip.name}")
        res = engine.file(clip, work / f"unseen-{clip.name}")
        if res.status != "written":
            print(f"unseen did not deliver {clip.name}: {res.error}", file=sys.stderr)
            engine = Anonymizer(Settings(allow_unsafe=True))  # keep it, to count its leaks
            res = engine.file(clip, work / f"unseen-{clip.name}")
        unseen_out = Path(res.output or "")
        unseen_fps = n / res.seconds
        verify_share = (res.verdict.seconds.get("total", 0.0) / res.seconds
                        if res.verdict is not None else 0.0)
        judged = int(res.verdict.seconds.get("frames_checked", 0)) if res.verdict else 0
        bare = plain.file(clip, work / f"plain-{clip.name}")
        if bare.status != "written":
            sys.exit(f"unseen --verify off failed on {clip}: {bare.error}")
        bare_fps = n / bare.seconds
        deface_out = work / f"deface-{clip.name}"
        deface_s, deface_err = run_deface(clip, deface_out)
        deface_fps = n / deface_s
        deface_frames = frames_of(deface_out) if not deface_err else 0
        if a.no_leaks:
            leak_u = leak_d = "-"
        else:
            leak_u = str(len(leaked_frames(clip, unseen_out, sensitive)))
            leak_d = str(len(leaked_frames(clip, deface_out, sensitive))) if not deface_err else "-"
        rows.append((clip.name, size, n, ceiling, unseen_fps, verify_share, judged, bare_fps,
                     frames_of(unseen_out), deface_fps, deface_frames, leak_u, leak_d))
        print(f"done {clip.name}", file=sys.stderr, flush=True)
    print("| clip | size | frames | PyAV decode+encode fps (ceiling) | unseen fps (verified) "
          "| verification share (frames judged) | unseen fps --verify off | unseen frames out "
          "| deface fps | deface frames out | unseen / deface (verified, off) "
          "| leaked frames unseen | leaked frames deface |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, size, n, ceil, u, share, judged, bare, un, d, dn, lu, ld in rows:
        print(f"| {name} | {size} | {n} | {ceil:.1f} | {u:.1f} | {share:.0%} ({judged}) "
              f"| {bare:.1f} | {un} | {d:.1f} | {dn} | {u / d:.1f}x, {bare / d:.1f}x "
              f"| {lu} | {ld} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
