"""An independent check that a talking-head video's mouth follows a given audio track.

Why this exists: lipsync and avatar engines must be judged on their output, not on what
they claim. Raw Pearson correlation between lip aperture and audio loudness is weak even
on real footage with its own audio (r ~ -0.2..0.3), so it proves nothing. What does hold
on real speech is coarser and robust:

* during the audio's pauses (>= 250 ms of silence) the lips are closed or still;
* during its speech the lips are open and moving;
* this relation is strongest at (close to) zero time offset: shifting the audio against
  the video by a second or more destroys it.

So the measure is: (a) how well per-frame mouth activity separates the audio's speech
frames from its pause frames (ROC AUC), (b) how that AUC compares with the same AUC under
circular time shifts of the audio (a null distribution from the clip itself: z-score),
and (c) the lag at which the mouth-motion envelope best matches the speech envelope.
`bench/validate_lipsync_measure.py` validates it on real footage (own audio passes,
other speech and a frozen frame fail) and prints the figures.

Face landmarks: MediaPipe face mesh through `deployments.talking_face.tracking` (the same
landmark model the face engines use; this pass is independent of how they render).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deployments.talking_face.tracking import FaceTracker, eye_distance
from deployments.talking_face.video_io import read_audio

SHAPE_PAIRS = [(13, 14), (61, 291), (0, 17), (1, 152)]
MIN_PAUSE_S = 0.25
AUDIO_RATE = 16000
HOP_S = 0.01  # VAD frame hop


# --------------------------------------------------------------------------- video


def mouth_track(video_path, every: int = 1, size: int = 256, work_height: int = 960):
    """Per-frame inner-lip aperture of the (single) face in a video: (times, aperture)."""
    times, shapes = mouth_shapes(video_path, every, size, work_height)
    return times, shapes[:, 0]


def mouth_shapes(video_path, every: int = 1, size: int = 256, work_height: int = 960):
    """Per-frame mouth measures of the (single) face in a video, each / eye-corner distance.

    Columns: inner-lip gap (13-14), mouth width (61-291), outer-lip gap (0-17),
    nose-to-chin (1-152, the jaw).

    Frames are decoded at `work_height` rows (aspect kept); the face is found once on the
    whole frame, then tracked in a square crop around the last landmarks, resized to
    `size` px. Aperture = inner-lip gap (13-14) / outer eye-corner distance (33-263);
    NaN where no face is found. Returns (times in s, array [frames, 4]).
    """
    import av

    tracker = FaceTracker(size)
    times, aperture = [], []
    with av.open(str(video_path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        scale = work_height / stream.codec_context.height
        width = round(stream.codec_context.width * scale / 2) * 2
        for i, frame in enumerate(container.decode(stream)):
            if i % every:
                continue
            t = float(frame.time) if frame.time is not None else i / float(stream.average_rate)
            pts = tracker(frame.to_ndarray(format="rgb24", width=width, height=work_height))
            times.append(t)
            if pts is None:
                aperture.append([np.nan] * len(SHAPE_PAIRS))
            else:
                eye = eye_distance(pts)
                aperture.append([np.linalg.norm(pts[i] - pts[j]) / eye for i, j in SHAPE_PAIRS])
    tracker.close()
    return np.asarray(times), np.asarray(aperture)


# --------------------------------------------------------------------------- audio


def fit_length(samples: np.ndarray, seconds: float, rate: int = AUDIO_RATE) -> np.ndarray:
    """Trim or zero-pad to `seconds` (to set other speech against a video)."""
    n = round(seconds * rate)
    return samples[:n] if len(samples) >= n else np.pad(samples, (0, n - len(samples)))


def speech_band_db(samples: np.ndarray, rate: int = AUDIO_RATE, hop_s: float = HOP_S) -> np.ndarray:
    """Per-hop energy (dB) in the 250-4000 Hz speech band, 25 ms Hann windows."""
    hop, win = int(rate * hop_s), int(rate * 0.025)
    n = max(1 + (len(samples) - win) // hop, 0)
    if n == 0:
        return np.zeros(0)
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(samples[idx] * np.hanning(win), axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1 / rate)
    band = spec[:, (freqs >= 250) & (freqs <= 4000)].sum(axis=1)
    return 10 * np.log10(band + 1e-10)


@dataclass
class Activity:
    """Speech activity of an audio track on a `hop_s` grid."""

    speech: np.ndarray  # bool per hop, True = speech
    energy_db: np.ndarray
    hop_s: float = HOP_S
    pauses: list[tuple[float, float]] = field(default_factory=list)  # >= MIN_PAUSE_S

    @property
    def duration(self) -> float:
        return len(self.speech) * self.hop_s

    def speech_intervals(self) -> list[tuple[float, float]]:
        return _runs(self.speech, self.hop_s)


def _runs(mask: np.ndarray, hop_s: float) -> list[tuple[float, float]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(s * hop_s, e * hop_s) for s, e in zip(starts, ends, strict=True)]


def speech_activity(samples_or_path, rate: int = AUDIO_RATE, min_pause_s: float = MIN_PAUSE_S,
                    min_speech_s: float = 0.08) -> Activity:
    """Energy VAD with hysteresis; silences shorter than `min_pause_s` count as speech.

    Thresholds adapt to the track: noise floor = 10th percentile of band energy,
    speech level = 90th; enter speech above floor + 45% of the range (at least 9 dB),
    leave below floor + 30% (at least 6 dB).
    """
    samples = read_audio(samples_or_path, rate) if isinstance(samples_or_path, (str, Path)) \
        else np.asarray(samples_or_path, dtype=np.float32)
    db = speech_band_db(samples, rate)
    db_s = np.convolve(db, np.ones(3) / 3, mode="same") if len(db) >= 3 else db
    floor, loud = np.percentile(db_s, 10), np.percentile(db_s, 90)
    span = loud - floor
    on, off = floor + max(0.45 * span, 9.0), floor + max(0.30 * span, 6.0)
    speech = np.zeros(len(db_s), bool)
    state = False
    for i, v in enumerate(db_s):
        state = v > on if not state else v > off
        speech[i] = state
    # drop blips, then fill short gaps (the pause rule)
    for s, e in _runs(speech, HOP_S):
        if e - s < min_speech_s:
            speech[round(s / HOP_S):round(e / HOP_S)] = False
    pauses = []
    for s, e in _runs(~speech, HOP_S):
        if e - s < min_pause_s:
            speech[round(s / HOP_S):round(e / HOP_S)] = True
        else:
            pauses.append((s, e))
    return Activity(speech=speech, energy_db=db, pauses=pauses)


# --------------------------------------------------------------------------- score


def _fill_nan(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, float).copy()
    ok = np.isfinite(x)
    if not ok.any():
        return np.zeros_like(x)
    x[~ok] = np.interp(np.flatnonzero(~ok), np.flatnonzero(ok), x[ok])
    return x


def mouth_activity(shapes: np.ndarray, fps: float, window_s: float = 0.12) -> np.ndarray:
    """Per-frame mouth motion: summed |rate of change| of the mouth measures, per 100 ms,
    averaged over a short window.

    Motion, not opening: on real footage people often rest with the lips apart (a smile
    shows teeth, a breath opens the mouth), so "lips closed in pauses" fails on real
    talkers, while "lips still in pauses, moving in speech" holds.
    """
    x = np.asarray(shapes, float)
    x = x[:, None] if x.ndim == 1 else x
    x = np.column_stack([_fill_nan(c) for c in x.T])
    motion = (np.abs(np.gradient(x, axis=0)) * fps * 0.1).sum(axis=1)
    k = max(round(window_s * fps), 1)
    return np.convolve(motion, np.ones(k) / k, mode="same")


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney), ties count half."""
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_v, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    r_pos = ranks[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _labels_on(times: np.ndarray, act: Activity, shift_s: float = 0.0, guard_s: float = 0.08):
    """Per video frame: 1 speech, 0 pause, -1 ignore (within guard_s of a boundary / off the end).

    `shift_s` reads the activity circularly shifted (for the null distribution)."""
    n = len(act.speech)
    idx = np.round(((times - shift_s) % act.duration) / act.hop_s).astype(int) % n
    lab = act.speech[idx].astype(int)
    g = round(guard_s / act.hop_s)
    if g:
        change = np.flatnonzero(np.diff(act.speech.astype(np.int8)) != 0)
        near = np.zeros(n, bool)
        for c in change:
            near[max(c - g, 0): c + g + 1] = True
        lab[near[idx]] = -1
    lab[(times < 0) | (times >= act.duration)] = -1
    return lab


@dataclass
class SyncScore:
    auc: float  # mouth activity separating speech from pause frames, at zero offset
    null_mean: float  # AUC under circular shifts of the audio by >= 1 s
    null_std: float
    z: float  # (auc - null_mean) / null_std
    best_lag_s: float  # lag of the best-matching AUC within +-max_lag_s (+ = mouth lags audio)
    speech_motion: float  # median summed |d shape| per 100 ms in speech frames (frozen = 0)
    pause_frames: int
    speech_frames: int
    passed: bool
    reason: str

    def row(self) -> str:
        return (f"AUC {self.auc:.3f}  null {self.null_mean:.3f}+-{self.null_std:.3f}  z {self.z:+.2f}  "
                f"lag {self.best_lag_s:+.2f}s  motion {self.speech_motion:.4f}  "
                f"frames s/p {self.speech_frames}/{self.pause_frames}  {'PASS' if self.passed else 'FAIL'}")


def sync_score(times: np.ndarray, shapes: np.ndarray, act: Activity, *,
               min_auc: float = 0.63, min_z: float = 1.2, max_lag_s: float = 0.3,
               min_motion: float = 0.002, null_min_shift_s: float = 1.0) -> SyncScore:
    """Does the mouth open and move through the audio's speech and rest through its pauses?

    `shapes`: from `mouth_shapes` (or a 1-D aperture from `mouth_track`).
    Pass needs all of: AUC >= min_auc; z >= min_z against circular shifts of the audio
    by at least `null_min_shift_s` (so a mouth that merely moves a lot does not pass);
    the best lag within +-max_lag_s of 0; lips actually moving in speech.
    """
    times = np.asarray(times, float)
    fps = 1.0 / np.median(np.diff(times)) if len(times) > 1 else 25.0
    shapes = np.asarray(shapes, float)
    valid = np.isfinite(shapes if shapes.ndim == 1 else shapes.sum(axis=1))
    score = mouth_activity(shapes, fps)
    motion = mouth_activity(shapes, fps, window_s=0)

    def auc_at(shift):
        lab = _labels_on(times, act, shift)
        keep = valid & (lab >= 0)
        return _auc(score[keep & (lab == 1)], score[keep & (lab == 0)])

    lab0 = _labels_on(times, act)
    keep0 = valid & (lab0 >= 0)
    n_speech, n_pause = int((keep0 & (lab0 == 1)).sum()), int((keep0 & (lab0 == 0)).sum())
    auc = auc_at(0.0)
    step = 1.0 / fps
    shifts = np.arange(null_min_shift_s, act.duration - null_min_shift_s + 1e-9, step)
    null = np.array([auc_at(s) for s in shifts])
    null = null[np.isfinite(null)]
    null_mean = float(null.mean()) if len(null) else float("nan")
    null_std = float(max(null.std(), 0.02)) if len(null) else float("nan")
    z = (auc - null_mean) / null_std if len(null) else float("nan")
    lags = np.arange(-max_lag_s - 0.3, max_lag_s + 0.3 + 1e-9, step)
    lag_auc = np.array([auc_at(lag) for lag in lags])
    best_lag = float(lags[np.nanargmax(lag_auc)]) if np.isfinite(lag_auc).any() else float("nan")
    speech_motion = float(np.median(motion[keep0 & (lab0 == 1)])) if n_speech else 0.0

    reasons = []
    if n_pause < 5 or n_speech < 5:
        reasons.append(f"too few pause/speech frames ({n_pause}/{n_speech})")
    if not auc >= min_auc:
        reasons.append(f"AUC {auc:.3f} < {min_auc}")
    if not z >= min_z:
        reasons.append(f"z {z:.2f} < {min_z}")
    if not abs(best_lag) <= max_lag_s:
        reasons.append(f"best lag {best_lag:+.2f}s beyond +-{max_lag_s}s")
    if not speech_motion >= min_motion:
        reasons.append(f"lips still in speech ({speech_motion:.4f} < {min_motion})")
    return SyncScore(auc, null_mean, null_std, z, best_lag, speech_motion, n_pause, n_speech,
                     not reasons, "; ".join(reasons) or "ok")


def aperture_energy_r(times: np.ndarray, aperture: np.ndarray, act: Activity) -> float:
    """Raw Pearson r between aperture and the audio's band energy (for reference only)."""
    idx = np.clip(np.round(times / act.hop_s).astype(int), 0, len(act.energy_db) - 1)
    e = act.energy_db[idx]
    ok = np.isfinite(aperture)
    return float(np.corrcoef(aperture[ok], e[ok])[0, 1])


def rest_in_pauses(times: np.ndarray, aperture: np.ndarray, act: Activity) -> float:
    """Median inner-lip gap in the audio's pauses over that in its speech (closed lips: ~0).

    For rendered talking heads only: real talkers often rest with the lips apart."""
    lab = _labels_on(times, act)
    ok = np.isfinite(aperture)
    return float(np.median(aperture[ok & (lab == 0)]) / np.median(aperture[ok & (lab == 1)]))


BILABIAL = ("p", "b", "m")


def bilabial_closure(times: np.ndarray, aperture: np.ndarray, act: Activity, words: list[dict],
                     window_s: float = 0.08) -> tuple[float, int]:
    """(median over words starting with p/b/m of the smallest inner-lip gap within
    +-window_s of the word's start / the median gap in speech, number of such words).

    Lips press together to make p, b and m: near 0 when they do, ~1 when the mouth ignores it."""
    lab = _labels_on(times, act)
    ok = np.isfinite(aperture)
    speech_gap = np.median(aperture[ok & (lab == 1)])
    ratios = []
    for word in words:
        if word["word"].strip(" \"'.,!?").lower().startswith(BILABIAL):
            near = ok & (np.abs(times - word["start"]) <= window_s)
            if near.any():
                ratios.append(aperture[near].min() / speech_gap)
    return (float(np.median(ratios)) if ratios else float("nan")), len(ratios)


def onset_ratio(times: np.ndarray, aperture: np.ndarray, words: list[dict],
                window_s: float = 0.08) -> tuple[float, float, float]:
    """(median smallest gap within +-window_s of p/b/m word onsets, the same at other word
    onsets, their ratio): a mouth that really closes for p/b/m gives a ratio well under 1 (real
    footage with its own sound: 0.2-0.5), one that ignores them about 1."""
    ok = np.isfinite(aperture)

    def at_onsets(bilabial: bool) -> float:
        gaps = [aperture[near].min() for w in words
                if w["word"].strip(" \"'.,!?¿¡").lower().startswith(BILABIAL) == bilabial
                and (near := ok & (np.abs(times - w["start"]) <= window_s)).any()]
        return float(np.median(gaps)) if gaps else float("nan")

    closed, other = at_onsets(True), at_onsets(False)
    return closed, other, closed / other if other > 0 else float("nan")
