"""Validate tests/lipsync_measure.py on real footage before trusting it on engine output.

Real talking heads with their own audio must pass; the same mouth tracks set against
other speech (trimmed / zero-padded to the video's length) and a frozen mouth must fail.
Also prints the raw Pearson r between inner-lip aperture and audio band energy, which is
shown for reference only (it is weak even when the footage is in sync).

    .venv/bin/python bench/validate_lipsync_measure.py [media_dir]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lipsync_measure import (
    aperture_energy_r,
    fit_length,
    mouth_shapes,
    read_audio,
    speech_activity,
    sync_score,
)

MEDIA = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "media")
VIDEOS = ["talking_woman_en.mp4", "talking_man_en.mp4"]
OTHER = ["talking_woman_en.mp4", "talking_man_en.mp4", "speech_en_1.wav", "speech_en_2.wav", "speech_fr.wav"]


def main() -> int:
    audio = {name: read_audio(MEDIA / name) for name in OTHER}
    rows, ok = [], True
    for video in VIDEOS:
        t0 = time.perf_counter()
        times, shapes = mouth_shapes(MEDIA / video)
        track_s = time.perf_counter() - t0
        duration = times[-1] + np.median(np.diff(times))
        print(f"{video}: {len(times)} frames tracked in {track_s:.1f} s, "
              f"no face in {int(np.isnan(shapes[:, 0]).sum())}")
        cases = [(name, audio[name], name == video) for name in OTHER]
        for name, samples, expect in cases:
            t1 = time.perf_counter()
            act = speech_activity(fit_length(samples, duration))
            score = sync_score(times, shapes, act)
            label = "own audio" if expect else f"vs {name}"
            r = aperture_energy_r(times, shapes[:, 0], act) if expect else float("nan")
            rows.append((video, label, expect, score, r, time.perf_counter() - t1))
        # frozen frame: the first frame's mouth repeated (no motion at all)
        act = speech_activity(fit_length(audio[video], duration))
        frozen = np.repeat(shapes[:1], len(shapes), axis=0)
        rows.append((video, "frozen frame, own audio", False, sync_score(times, frozen, act),
                     float("nan"), 0.0))
        print(f"  own audio: pauses >= 250 ms: {len(act.pauses)}, speech {act.speech.mean():.0%}")

    print()
    print(f"{'video':18} {'case':26} {'expect':6} {'AUC':>5} {'null':>11} {'z':>6} {'lag s':>6} "
          f"{'motion':>7} {'r(ap,E)':>7} {'result':6} score_s")
    for video, label, expect, s, r, secs in rows:
        good = s.passed == expect
        ok &= good
        print(f"{video:18} {label:26} {'pass' if expect else 'fail':6} {s.auc:5.3f} "
              f"{s.null_mean:5.3f}+-{s.null_std:4.3f} {s.z:+6.2f} {s.best_lag_s:+6.2f} "
              f"{s.speech_motion:7.4f} {r:7.3f} {'PASS' if s.passed else 'FAIL':6} {secs:.2f}"
              f"{'' if good else '   <-- WRONG'}{'' if s.passed else '  (' + s.reason + ')'}")
    pos = [s for _, _, e, s, _, _ in rows if e]
    neg = [s for _, _, e, s, _, _ in rows if not e]
    print()
    print(f"own audio:   min AUC {min(s.auc for s in pos):.3f}, min z {min(s.z for s in pos):+.2f}")
    finite = [s for s in neg if np.isfinite(s.z)]
    print(f"other/still: max AUC {max(s.auc for s in neg):.3f}, "
          f"max z {max(s.z for s in finite):+.2f}" if finite else "")
    print("measure separates them" if ok else "measure does NOT separate them")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
