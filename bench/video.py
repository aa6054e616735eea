"""Video speed and leaks: unseen vs the `deface` CLI on the same clips, same run.

Prints a Markdown table: frames/s for unseen (as by default, verified, and
with ``--verify off``, like for like with deface, which checks nothing), for
``deface --backend opencv``
and for plain PyAV decode+encode (the ceiling), and the number of output
frames in which an independent sensitive detector (RetinaFace, upscaled, low
threshold) still finds a face that it also finds in the matching input frame.
Then the time per stage of the verified runs (decode, each kind of detection
pass, tracking, cover, verification, encoding), in ms per frame.

    python -m bench.video [--data ../shared/data] [--quick] [--large] [--long] [--no-main]
                          [--plates] [--clip NAME]

Clips: ../shared/data/video at their own size (the MOT20 crowd among them), plus
the Hamilton clip scaled to 1280x720 and 1920x1080 and a crowded "street": a 2x2
mosaic of mirrored MOT20 copies (written to a temporary folder, never the repo).

``--large`` and ``--long`` add a second table, "long and large", in which
every run is a process of its own so that its peak memory is its own: the
Hamilton clip scaled to 3840x2160 at 60 frames/s (``--large-frames``, 120),
and the Hamilton clip looped to ten minutes (17,982 frames; slow: deface
alone takes about as long as the video plays, or longer). Columns: frames/s,
peak resident memory (VmHWM), and for unseen the resident memory at 10 %, 50 %
and 100 % of the second pass (flat: it does not grow with the length).

``--plates`` prints instead the cost of ``--plates`` in video: each clip through
unseen (verified) without and with ``--plates``, one after the other, wall and
CPU seconds (no deface, no leak count). ``--clip NAME`` keeps only the clips
whose file name contains NAME (``--clip 720p``: the Hamilton clip at 1280x720).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from bench.evaluate import leaked_frames
from unseen.detect.retinaface import RetinaFace
from unseen.pipeline import Anonymizer
from unseen.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def reencode(src: Path, dest: Path, width: int, height: int,
             picture: Callable[[av.VideoFrame], av.VideoFrame],
             frames: int | None = None, crf: int = 16) -> Path:
    """``src``'s first ``frames`` frames (all: None), each made by ``picture``,
    encoded near-losslessly at ``width`` x ``height`` with the input's times."""
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        vin = inp.streams.video[0]
        v = out.add_stream("libx264", rate=vin.average_rate)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.time_base = vin.time_base
        v.options = {"crf": str(crf), "preset": "veryfast"}
        for i, frame in enumerate(inp.decode(vin)):
            if i == frames:
                break
            f = picture(frame).reformat(format="yuv420p")
            f.pts, f.time_base = frame.pts, frame.time_base
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return dest


def upscale(src: Path, dest: Path, width: int, height: int) -> Path:
    """A resized copy (video only), standing in for 720p/1080p footage."""
    return reencode(src, dest, width, height,
                    lambda f: f.reformat(width=width, height=height, format="yuv420p"))


def mosaic(src: Path, dest: Path) -> Path:
    """A 2x2 mosaic of ``src`` at its own size (mirrored copies, so that no two
    quarters are the same picture)."""
    def four(frame: av.VideoFrame) -> av.VideoFrame:
        a = frame.to_ndarray(format="rgb24")
        big = np.concatenate([np.concatenate([a, a[:, ::-1]], 1),
                              np.concatenate([a[::-1], a[::-1, ::-1]], 1)], 0)
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(big), format="rgb24")

    with av.open(str(src)) as inp:
        w, h = inp.streams.video[0].width, inp.streams.video[0].height
    return reencode(src, dest, 2 * w, 2 * h, four)


def large_clip(src: Path, dest: Path, frames: int, width: int = 3840, height: int = 2160,
               rate: int = 60) -> Path:
    """The first ``frames`` frames of ``src`` scaled to ``width`` x ``height`` and
    timed at ``rate`` frames/s (standing in for 4K60 phone footage)."""
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.time_base = Fraction(1, rate)
        v.options = {"crf": "18", "preset": "veryfast"}
        for i, frame in enumerate(inp.decode(video=0)):
            if i == frames:
                break
            f = frame.reformat(width=width, height=height, format="yuv420p",
                               interpolation="BICUBIC")
            f.pts, f.time_base = i, Fraction(1, rate)
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return dest


def looped_clip(src: Path, dest: Path, seconds: float) -> Path:
    """``src``'s video stream copied (not re-encoded) over and over to ``seconds``."""
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        vin = inp.streams.video[0]
        v = out.add_stream_from_template(vin)
        packets = [p for p in inp.demux(vin) if p.size]
        start = min(p.pts for p in packets)
        step = max(p.pts for p in packets) - start + (packets[0].duration or 1)
        end = seconds / vin.time_base
        loop = 0
        while loop * step < end:
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts = p.pts - start + loop * step
                q.dts = p.dts - start + loop * step
                q.duration, q.is_keyframe, q.time_base, q.stream = (
                    p.duration, p.is_keyframe, p.time_base, v)
                if q.pts >= end:
                    break
                out.mux(q)
            loop += 1
    return dest


def run_one(src: Path, dest: Path, verify: str) -> None:
    """(In a process of its own.) Anonymize one video; print seconds, frames and
    memory (resident MB at 10, 50 and 100 % of the second pass, and the peak)."""
    from unseen.pipeline.video import VideoProgress

    def rss_mb(field: str = "VmRSS") -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    samples: dict[str, float] = {}

    def progress(p: VideoProgress) -> None:
        if p.stage == "redact" and p.total:
            for q in (10, 50, 100):
                if p.frame == max(1, round(q / 100 * p.total)):
                    samples[f"{q}%"] = rss_mb()

    engine = Anonymizer(Settings(verify=verify))  # type: ignore[arg-type]
    res = engine.file(src, dest, progress)
    print(json.dumps({"status": res.status, "error": res.error, "seconds": res.seconds,
                      "frames": res.frames, "rss": samples, "peak": rss_mb("VmHWM")}))


def measured(cmd: list[str]) -> tuple[float, int, float, str]:
    """Run ``cmd``: (seconds, exit code, peak resident MB of the process, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return seconds, proc.returncode, usage.ru_maxrss / 1024, out.read()


def long_and_large(rows: list[tuple[str, Path, int]], work: Path, verify_off: set[str]
                   ) -> None:
    """The second table: each run a process of its own, with its peak memory."""
    table = []
    for label, clip, n in rows:
        result: dict[str, dict[str, Any]] = {}
        for verify in ("fast", "off") if label in verify_off else ("fast",):
            _, rc, _, out = measured([sys.executable, __file__, "--run-one", str(clip),
                                      str(work / f"unseen-{verify}-{clip.name}"), verify])
            doc = json.loads(out.strip().splitlines()[-1]) if rc == 0 else {}
            if doc.get("status") != "written":
                print(f"unseen ({verify}) did not deliver {clip.name}: {doc}", file=sys.stderr)
            result[verify] = doc
        deface_s, deface_rc, deface_peak, _ = measured(
            [shutil.which("deface") or str(Path(sys.executable).with_name("deface")),
             "--backend", "opencv", "--replacewith", "solid", "-o",
             str(work / f"deface-{clip.name}"), str(clip)])
        table.append((label, clip, n, result, n / deface_s if deface_rc == 0 else 0.0,
                      deface_peak))
        print(f"done {label}", file=sys.stderr, flush=True)
    print()
    print("| clip | size, rate | frames | unseen fps (verified) | unseen fps --verify off "
          "| unseen peak RSS MB | unseen RSS MB at 10 / 50 / 100 % of pass 2 | deface fps "
          "| deface peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, clip, n, result, deface_fps, deface_peak in table:
        with av.open(str(clip)) as c:
            v = c.streams.video[0]
            size = f"{v.width}x{v.height}, {float(v.average_rate):.2f}"
        fast, off = result.get("fast", {}), result.get("off", {})
        rss = fast.get("rss", {})
        print(f"| {label} | {size} | {n} | {_fps(n, fast)} | {_fps(n, off)} "
              f"| {fast.get('peak', 0):.0f} "
              f"| {' / '.join(f'{rss.get(q, 0):.0f}' for q in ('10%', '50%', '100%'))} "
              f"| {deface_fps:.2f} | {deface_peak:.0f} |")


def _fps(frames: int, run: dict[str, Any]) -> str:
    return f"{frames / float(run['seconds']):.2f}" if run.get("seconds") else "-"


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


def plates_cost(clips: list[Path], work: Path) -> None:
    """unseen (verified) on each clip without and with ``--plates``: seconds."""
    engines = {False: Anonymizer(Settings()), True: Anonymizer(Settings(plates=True))}
    warm = upscale(clips[0], work / "warmup.mp4", 320, 192)
    for on, engine in engines.items():  # load every model before timing
        engine.file(warm, work / f"warmup-{on}.mp4")
    rows = []
    for clip in clips:
        with av.open(str(clip)) as c:
            v = c.streams.video[0]
            size = f"{v.width}x{v.height}"
        n = frames_of(clip)
        wall: dict[bool, float] = {}
        cpu: dict[bool, float] = {}
        for on, engine in engines.items():
            w0, c0 = time.perf_counter(), time.process_time()
            res = engine.file(clip, work / f"unseen-{on}-{clip.name}")
            wall[on], cpu[on] = time.perf_counter() - w0, time.process_time() - c0
            if res.status != "written":
                print(f"unseen ({'--plates' if on else 'default'}) did not deliver "
                      f"{clip.name}: {res.error}", file=sys.stderr)
        rows.append((clip.name, size, n, wall, cpu))
        print(f"done {clip.name}", file=sys.stderr, flush=True)
    print("| clip | size | frames | wall s default | wall s --plates | CPU s default "
          "| CPU s --plates | CPU added | CPU s added per key frame (every 10th) "
          "| fps default, --plates |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, size, n, wall, cpu in rows:
        keys = max(1, -(-n // 10))
        print(f"| {name} | {size} | {n} | {wall[False]:.1f} | {wall[True]:.1f} "
              f"| {cpu[False]:.1f} | {cpu[True]:.1f} "
              f"| {(cpu[True] - cpu[False]) / cpu[False]:+.0%} "
              f"| {(cpu[True] - cpu[False]) / keys:.2f} "
              f"| {n / wall[False]:.1f}, {n / wall[True]:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--quick", action="store_true", help="native-size clips only")
    ap.add_argument("--no-leaks", action="store_true", help="skip the sensitive detector")
    ap.add_argument("--large", action="store_true", help="add the 4K60 row (own processes)")
    ap.add_argument("--large-frames", type=int, default=120, help="frames of the 4K60 clip")
    ap.add_argument("--long", action="store_true", help="add the 10-minute row (slow)")
    ap.add_argument("--no-main", action="store_true", help="only the long and large table")
    ap.add_argument("--plates", action="store_true",
                    help="time unseen without and with --plates instead (no deface, no leaks)")
    ap.add_argument("--clip", action="append", default=[], metavar="NAME",
                    help="only clips whose file name contains NAME (repeatable)")
    ap.add_argument("--run-one", nargs=3, metavar=("SRC", "DEST", "VERIFY"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.run_one:
        run_one(Path(a.run_one[0]), Path(a.run_one[1]), a.run_one[2])
        return
    video_dir = a.data / "video"
    if not video_dir.is_dir():
        sys.exit(f"no test data at {video_dir}")
    work = Path(tempfile.mkdtemp(prefix="unseen-bench-video-"))
    ham = video_dir / "short_hamilton_clip.mp4"
    extra: list[tuple[str, Path, int]] = []
    if a.large:
        clip = large_clip(ham, work / "hamilton_4k60.mp4", a.large_frames)
        extra.append(("hamilton 4K60", clip, frames_of(clip)))
    if a.long:
        clip = looped_clip(ham, work / "hamilton_10min.mp4", 600.0)
        extra.append(("hamilton looped, 10 min", clip, frames_of(clip)))
    if a.no_main:
        long_and_large(extra, work, {"hamilton 4K60"})
        shutil.rmtree(work, ignore_errors=True)
        return
    clips = sorted(video_dir.glob("*.mp4"))
    if not a.quick:
        for name, w, h in (("hamilton_720p.mp4", 1280, 720), ("hamilton_1080p.mp4", 1920, 1080)):
            if not a.clip or any(k in name for k in a.clip):
                clips.append(upscale(ham, work / name, w, h))
        # A crowded street: four mirrored copies of the MOT20 crowd at its own size.
        name = "street_mot20_2x2.mp4"
        mot = video_dir / "MOT20-05-raw_even_shorter.mp4"
        if mot.exists() and (not a.clip or any(k in name for k in a.clip)):
            clips.append(mosaic(mot, work / name))
    if a.clip:
        clips = [c for c in clips if any(k in c.name for k in a.clip)]
        if not clips:
            sys.exit(f"no clip matches {', '.join(a.clip)}")
    if a.plates:
        plates_cost(clips, work)
        shutil.rmtree(work, ignore_errors=True)
        return
    engine = Anonymizer(Settings())
    plain = Anonymizer(Settings(verify="off"))
    # Load every model before timing: run once on a short cut of the first clip.
    warm = upscale(clips[0], work / "warmup.mp4", 320, 192)
    engine.file(warm, work / "warmup-out.mp4")
    plain.file(warm, work / "warmup-plain.mp4")
    sensitive = RetinaFace()
    rows = []
    budgets: list[tuple[str, int, float, dict[str, float]]] = []
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
        budgets.append((clip.name, n, res.seconds, res.stages))
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
    stage_budget(budgets)
    if extra:
        long_and_large(extra, work, {"hamilton 4K60"})
    shutil.rmtree(work, ignore_errors=True)


def stage_budget(budgets: list[tuple[str, int, float, dict[str, float]]]) -> None:
    """The verified runs' time per stage (`FileResult.stages`), in ms per frame."""
    stages: list[str] = []
    for _, _, _, st in budgets:
        stages += [k for k in st if k not in stages]
    print()
    print("Time per stage, ms per frame (unseen verified, same runs):")
    print()
    print("| clip | " + " | ".join(stages) + " | other | total |")
    print("|---|" + "---:|" * (len(stages) + 2))
    for name, n, seconds, st in budgets:
        other = seconds - sum(st.values())
        cells = [f"{1000 * st.get(k, 0.0) / n:.1f}" for k in stages]
        print(f"| {name} | " + " | ".join(cells) + f" | {1000 * other / n:.1f} "
              f"| {1000 * seconds / n:.1f} |")


if __name__ == "__main__":
    main()
