"""Voices: what `--audio mute-speech` and `--audio disguise` leave for a speaker-recognition
adversary, and what they cost. Prints the tables of issue 17's "Measure" section.

Data: ../shared/data/speech (LibriSpeech, 16 kHz; speakers.json: file -> speaker).
Speakers with several utterances are the probes; every original utterance is the
gallery. The adversary is Resemblyzer's GE2E encoder (unseen.detect.speaker).

    python -m bench.audio            # everything (about 10 minutes on 2 busy cores)
    python -m bench.audio --quick    # 3 utterances per speaker, 4 mixes
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from unseen import audio as A
from unseen.detect.speaker import SpeakerEncoder, speech_only
from unseen.detect.speech import WINDOW_SECONDS, SpeechDetector
from unseen.media.audio import read_audio
from unseen.verify.audio import JUDGE_SPEECH, SPEAKER_MATCH, AudioJudge

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT.parent / "shared" / "data"
SPEECH = DATA / "speech"
GOPRO = DATA / "metadata" / "gopro"
NOISE = [GOPRO / "max-heromode.mp4", GOPRO / "karma.mp4"]
EVENT = DATA / "video" / "short_hamilton_clip.mp4"
SR = 16000
PITCH_SEMITONES = 4.0


def eer(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the threshold where it is reached."""
    best, rate = (1.0, 0.0), 0.5
    for t in np.unique(np.concatenate([genuine, impostor])):
        far, frr = float(np.mean(impostor >= t)), float(np.mean(genuine < t))
        if abs(far - frr) < best[0]:
            best = (abs(far - frr), float(t))
            rate = (far + frr) / 2
    return rate, best[1]


def stoi_score(clean: np.ndarray, processed: np.ndarray) -> float:
    from pystoi import stoi

    return float(stoi(clean.astype(np.float64), processed.astype(np.float64), SR))


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def speaker_bench(args: argparse.Namespace, vad: SpeechDetector, enc: SpeakerEncoder) -> None:
    labels = json.loads((SPEECH / "speakers.json").read_text())
    files = sorted(labels)
    lab = np.array([labels[f] for f in files])
    wavs = {f: read_audio(SPEECH / f).samples[0] for f in files}
    segs = {f: vad.segments(wavs[f], SR, JUDGE_SPEECH) for f in files}
    gallery = np.stack([enc.embed(speech_only(wavs[f], segs[f])) for f in files])

    # Same-speaker vs different-speaker similarity among the originals (the judge's threshold).
    sim = gallery @ gallery.T
    same = (lab[:, None] == lab[None, :]) & ~np.eye(len(files), dtype=bool)
    diff = lab[:, None] != lab[None, :]
    e, t = eer(sim[same], sim[diff][::2])
    print(f"Originals: {len(files)} utterances, {len(set(lab))} speakers; same speaker "
          f"{np.min(sim[same]):.2f}-{np.max(sim[same]):.2f} (median {np.median(sim[same]):.2f}, "
          f"5th pct {np.percentile(sim[same], 5):.2f}); different "
          f"{np.min(sim[diff]):.2f}-{np.max(sim[diff]):.2f} (median {np.median(sim[diff]):.2f}, "
          f"99th pct {np.percentile(sim[diff], 99):.2f}); EER {100 * e:.1f} % at {t:.2f} "
          f"(judge's match threshold: {SPEAKER_MATCH})\n")

    multi = sorted({s for s in lab if (lab == s).sum() > 1})
    probes = [i for s in multi for i in np.flatnonzero(lab == s)[: args.per_speaker]]
    settings = A.AudioSettings(mode="disguise")
    rng = np.random.default_rng(args.seed)

    def untouched(x: np.ndarray) -> list[np.ndarray]:
        return [x]

    def shifted(x: np.ndarray) -> list[np.ndarray]:
        return [A.pitch_shift(x[None], SR, PITCH_SEMITONES)[0]]

    def shifted_undone(x: np.ndarray) -> list[np.ndarray]:
        y = A.pitch_shift(x[None], SR, PITCH_SEMITONES)
        return [A.pitch_shift(y, SR, -PITCH_SEMITONES)[0]]

    def disguised(x: np.ndarray) -> list[np.ndarray]:
        return [A.disguise(x[None], SR, settings, rng)[0]]

    def disguised_undone(x: np.ndarray) -> list[np.ndarray]:
        # An adversary who knows the method and the distribution of every draw, not
        # the draw (unseen.audio.undo_disguise), keeping the try that scores best.
        y = A.disguise(x[None], SR, settings, rng)
        return [t[0] for t in A.undo_disguise(y, SR, settings)]

    def disguised_gallery() -> np.ndarray:
        # The same adversary's other way: disguise its own recordings of every
        # speaker (draws of its own) and compare disguised with disguised.
        own = np.random.default_rng(args.seed + 1)
        return np.stack([enc.embed(speech_only(A.disguise(wavs[f][None], SR, settings, own)[0],
                                               segs[f])) for f in files])

    conditions = [("untouched", untouched, False, None),
                  (f"plain pitch shift +{PITCH_SEMITONES:.0f} st", shifted, True, None),
                  ("pitch shift, shifted back by the adversary", shifted_undone, False, None),
                  ("disguise", disguised, True, None),
                  ("disguise, informed adversary's inverse (typical voices, range middles)",
                   disguised_undone, False, None),
                  ("disguise, against the gallery disguised by the adversary", disguised, False,
                   disguised_gallery)]
    if args.disguise_only:
        conditions = [c for c in conditions if "disguise" in c[0]]
    rows = []
    for name, fn, intelligibility, other_gallery in conditions:
        against = gallery if other_gallery is None else other_gallery()
        correct, genuine, impostor, self_sim, stois = [], [], [], [], []
        seconds, audio_s = 0.0, 0.0
        for i in probes:
            f = files[i]
            x = wavs[f]
            t0 = time.perf_counter()
            outs = fn(x)
            seconds += time.perf_counter() - t0
            audio_s += len(x) / SR
            embs = np.stack([enc.embed(speech_only(y, segs[f])) for y in outs])
            scores = (embs @ against.T).max(axis=0)  # the adversary keeps its best try
            self_sim.append(float(scores[i]))
            scores[i] = -9.0
            correct.append(lab[int(np.argmax(scores))] == lab[i])
            others = np.arange(len(files)) != i
            genuine += list(scores[others & (lab == lab[i])])
            impostor += list(scores[others & (lab != lab[i])])
            if intelligibility:
                stois.append(stoi_score(x, outs[0]))
        e, _ = eer(np.array(genuine), np.array(impostor))
        ss = np.array(self_sim)
        rows.append([name, f"{100 * np.mean(correct):.0f} %", f"{100 * e:.0f} %",
                     f"{np.median(ss):.2f} / {np.max(ss):.2f}",
                     f"{100 * np.mean(ss >= SPEAKER_MATCH):.0f} %",
                     f"{np.median(stois):.2f} ({np.min(stois):.2f})" if stois else "-",
                     f"{60 * seconds / audio_s:.1f}" if name in ("disguise",) or
                     "plain" in name else "-"])
    per = sum(1 for s in lab if (lab == s).sum() > 1) // len(multi)
    chance = 100 * (per - 1) / (len(files) - 1)
    print(f"Speaker recognition on {len(probes)} probe utterances of {len(multi)} speakers; "
          f"gallery: the {len(files) - 1} other original utterances (chance rank-1 "
          f"{chance:.0f} %: {per - 1} of them are the probe's speaker).")
    table(["output", "rank-1", "EER orig vs output", "similarity to own original (median / max)",
           f"judged a match (>= {SPEAKER_MATCH})", "STOI vs original (median (min))",
           "s per min of sound"], rows)


def noise_bed(seconds: float, which: int) -> np.ndarray:
    """Real sound (a GoPro clip's), mixed to mono at 16 kHz, looped to length."""
    from unseen.detect.speech import to_mono_16k

    track = read_audio(NOISE[which])
    x = to_mono_16k(track.samples, track.sample_rate)
    reps = int(np.ceil(seconds * SR / len(x)))
    return np.tile(x, reps)[: int(seconds * SR)]


def mix(speech: list[np.ndarray], which: int, snr_db: float
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise 3 s, utterance, noise 3 s, ... with speech at ``snr_db`` over the bed.
    Returns the mix, the speech alone, and where an utterance was placed (per sample)."""
    gap = 3 * SR
    total = gap + sum(len(s) + gap for s in speech)
    bed = noise_bed(total / SR, which)
    out = bed.copy()
    where = np.zeros(total, bool)
    pos = gap
    speech_rms = np.sqrt(np.mean(np.concatenate(speech) ** 2))
    bed = bed * (speech_rms / (np.sqrt(np.mean(bed ** 2)) + 1e-12)) / 10 ** (snr_db / 20)
    out = bed.copy()
    clean = np.zeros(total, np.float32)
    for s in speech:
        clean[pos:pos + len(s)] = s
        where[pos:pos + len(s)] = True
        pos += len(s) + gap
    out += clean
    return out.astype(np.float32), clean, where


def windows(mask: np.ndarray) -> np.ndarray:
    w = int(WINDOW_SECONDS * SR)
    n = len(mask) // w
    return mask[: n * w].reshape(n, w).mean(axis=1) > 0.5


def mute_bench(args: argparse.Namespace, vad: SpeechDetector) -> None:
    labels = json.loads((SPEECH / "speakers.json").read_text())
    files = sorted(labels)[: args.mixes * 3]
    rows = []
    judge = AudioJudge()
    for which, snr in ((0, 15.0), (1, 5.0)):
        for fill in ("noise", "silence"):
            left, speech_total, db_changes, cost, audio_s, unsafe = 0, 0, [], 0.0, 0.0, 0
            for k in range(0, len(files), 3):
                group = [read_audio(SPEECH / f).samples[0] for f in files[k:k + 3]]
                x, clean, placed = mix(group, which, snr)
                # Ground truth speech windows: the VAD on the clean speech at its place.
                truth = vad.probabilities(clean, SR) >= 0.5
                settings = A.AudioSettings(mode="mute-speech", mute_fill=fill)
                t0 = time.perf_counter()
                y, _ = A.mute_speech(x[None], SR, settings, vad, np.random.default_rng(k))
                cost += time.perf_counter() - t0
                audio_s += len(x) / SR
                after = vad.probabilities(y[0], SR) >= 0.5
                n = min(len(truth), len(after), len(x) // int(WINDOW_SECONDS * SR))
                left += int(np.sum(after[:n] & truth[:n]))
                speech_total += int(np.sum(truth[:n]))
                quiet = ~windows(placed)[: n]
                w = int(WINDOW_SECONDS * SR)
                e_in = np.sum(x[: n * w].reshape(n, w)[quiet] ** 2)
                e_out = np.sum(y[0][: n * w].reshape(n, w)[quiet] ** 2)
                db_changes.append(10 * np.log10(e_out / e_in))
                unsafe += int(not judge.judge_muted(y[0], x).safe)
            bed = ["GoPro ambient (quiet)", "GoPro drone (loud)"][which]
            rows.append([f"{bed}, SNR {snr:.0f} dB",
                         fill, f"{100 * left / max(speech_total, 1):.2f} %",
                         f"{np.mean(db_changes):+.2f} ({np.min(db_changes):+.2f} to "
                         f"{np.max(db_changes):+.2f})",
                         f"{unsafe} of {len(db_changes)}", f"{60 * cost / audio_s:.1f}"])
    print(f"mute-speech on {len(files)} utterances mixed 3 per track over real sound "
          "(speech frames: 32 ms windows where the VAD finds speech in the clean utterance; "
          "non-speech energy: every window outside the utterances, margins included).")
    table(["sound bed", "fill", "speech frames left", "non-speech energy change dB (mean (range))",
           "judged unsafe", "s per min of sound"], rows)

    # The real event sound: a clip whose track is talk throughout.
    track = read_audio(EVENT)
    before = vad.segments(track.samples, track.sample_rate, JUDGE_SPEECH)
    t0 = time.perf_counter()
    out, _ = A.mute_speech(track.samples, track.sample_rate, A.AudioSettings(
        mode="mute-speech"), vad)
    cost = time.perf_counter() - t0
    after = vad.segments(out, track.sample_rate, JUDGE_SPEECH)
    print(f"{EVENT.name} ({track.duration:.1f} s, {track.sample_rate} Hz, "
          f"{track.params.layout}): speech {sum(e - s for s, e in before):.1f} s before, "
          f"{sum(e - s for s, e in after):.1f} s after; {60 * cost / track.duration:.1f} s per "
          "minute of sound.")
    t0 = time.perf_counter()
    A.disguise(track.samples, track.sample_rate, A.AudioSettings(mode="disguise"))
    cost = time.perf_counter() - t0
    print(f"disguise of the same track: {60 * cost / track.duration:.1f} s per minute of "
          f"{track.sample_rate} Hz {track.params.layout} sound.\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 utterances per speaker, 4 mixes")
    ap.add_argument("--seed", type=int, default=17, help="draws of the benchmark's disguises")
    ap.add_argument("--only", choices=("speaker", "mute"), default=None)
    ap.add_argument("--disguise-only", action="store_true",
                    help="speaker part: only the disguise rows (quicker iterations)")
    args = ap.parse_args()
    args.per_speaker = 3 if args.quick else 10
    args.mixes = 4 if args.quick else 12
    if not SPEECH.is_dir():
        sys.exit(f"speech data not found at {SPEECH}")
    vad = SpeechDetector()
    if args.only != "mute":
        speaker_bench(args, vad, SpeakerEncoder())
    if args.only != "speaker":
        mute_bench(args, vad)


if __name__ == "__main__":
    main()
