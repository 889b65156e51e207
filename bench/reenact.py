"""Self-reenactment on real footage: does the re-rendered mouth do what the real one did?

    PYTHONPATH=. .venv/bin/python bench/reenact.py            # the talking heads in ../shared/media
    PYTHONPATH=. .venv/bin/python bench/reenact.py clip.mp4 ... --crops out/   # other clips; crops

The standard test of talking-face papers. Each clip is split in two: the engine gets the frames
before the split as its video and the clip's own sound after the split as its audio (with
Whisper base's word timings for that sound, as the lipsync graph gives it). An independent
landmark pass (tests/lipsync_measure.py) reads the inner-lip opening of every output frame, in
eye distances, and compares it with what the real mouth did after the split: Pearson r and mean
absolute error. Beside it: chance (the untouched first-half frames against the same truth),
the warp engine (the fallback, and the engine before the library), and the p/b/m onset ratio
(median gap at p/b/m word onsets over that at other onsets; real footage 0.2-0.5, ignoring
them about 1). For the library: how often its path jumps to another part of the clip, how
many runs of consecutive source mouths it has (a held frame also ends a run), and
the flicker (mean second difference of the grey mouth box from frame to frame, which a mouth
that jumps and comes back raises and smooth motion does not) beside that of the untouched
video frames it was drawn on. With --crops, the mouth of the same output frames is saved at
1:1 beside the real one (truth | library | warp) for a viewer to judge.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import wave
from pathlib import Path

import cv2
import numpy as np

from deployments.facemesh_lipsync import FaceMeshLipsyncEngine
from deployments.faster_whisper import FasterWhisperEngine
from deployments.talking_face import tracking as tk
from deployments.talking_face.video_io import VideoWriter, frames_rgb, read_audio, video_info
from graphs.base import MIN_WORD_PROBABILITY
from reelcore.capabilities.asr import TranscribeRequest
from reelcore.capabilities.face import LipsyncInput
from reelcore.engine import Call
from reelcore.media import probe
from tests.lipsync_measure import mouth_shapes, onset_ratio

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "media"
CLIPS = ["talking_en_man_suit", "talking_en_man_map", "talking_en_woman_studio",
         "talking_en_woman_glasses", "talking_woman_en", "talking_man_en"]


def media_ref(path: Path) -> dict:
    return {"key": path.name, "media": probe(path).model_dump(), "path": path}


def split(clip: Path, work: Path) -> tuple[Path, Path, int]:
    """The first half's frames (video) and the second half's sound (16 kHz WAV), and the split."""
    info = video_info(clip)
    cut = info.frames // 2
    head = work / "head.mp4"
    writer = VideoWriter(head, info.width, info.height, info.fps)
    for k, rgb in enumerate(frames_rgb(clip)):
        if k >= cut:
            break
        writer.write(rgb)
    writer.finish(clip)
    samples = read_audio(clip)[round(cut / info.fps * 16000):]
    tail = work / "tail.wav"
    with wave.open(str(tail), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return head, tail, cut


def crops(paths: list[Path], frames: list[int], out: Path, name: str) -> None:
    """The mouth of each video at the same frames, side by side at 1:1."""
    wanted = set(frames)
    decoded = [{k: rgb for k, rgb in enumerate(frames_rgb(path)) if k in wanted} for path in paths]
    rows = []
    for index in frames:
        tiles = []
        for frames_of_path in decoded:
            rgb = frames_of_path[index]
            tracker = tk.FaceTracker()
            pts = tracker(rgb)
            tracker.close()
            eye = tk.eye_distance(pts) if pts is not None else 100
            cx, cy = (pts[13] if pts is not None else np.array(rgb.shape[1::-1]) / 2).astype(int)
            half = int(0.55 * eye)
            tile = rgb[max(cy - half, 0):cy + half, max(cx - half, 0):cx + half]
            side = tiles[0].shape[0] if tiles else 2 * half
            tiles.append(cv2.resize(tile, (side, side)) if tile.shape[:2] != (side, side) else tile)
        rows.append(np.hstack(tiles))
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows])
    cv2.imwrite(str(out / f"{name}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path)
    parser.add_argument("--crops", type=Path, help="save mouth crops (truth | library | warp) here")
    parser.add_argument("--library-only", action="store_true", help="skip the warp engine")
    args = parser.parse_args()
    clips = args.clips or [SHARED / f"{name}.mp4" for name in CLIPS]
    asr = FasterWhisperEngine(model_name="base")
    asr.load()
    engines = {"library": FaceMeshLipsyncEngine()}
    if not args.library_only:
        engines["warp"] = FaceMeshLipsyncEngine(min_eye_px=1e9)
    for engine in engines.values():
        engine.load()
    print(f"{'clip':26} {'size':>9} {'lang':>4} {'chance r':>8} {'library r':>9} {'MAE':>6} "
          f"{'warp r':>7} {'MAE':>6} {'p/b/m: real':>11} {'library':>7} {'warp':>6} "
          f"{'jumps/runs/frames':>17} {'flicker: video':>14} {'library':>7}")
    for clip in clips:
        work = Path(tempfile.mkdtemp(prefix="reenact-"))
        print(f"# {clip.stem}: outputs in {work}", file=sys.stderr)
        head, tail, cut = split(clip, work)
        transcript = asr.transcribe(TranscribeRequest(audio=media_ref(tail)), Call(lambda _: None, work))
        words = [w for s in transcript.segments for w in s.words if w.probability >= MIN_WORD_PROBABILITY]
        fps = video_info(clip).fps
        times, shapes = mouth_shapes(clip, work_height=960)
        # Output frame i shows t = i / fps of the audio after the split (as the engine writes
        # it); the truth is read there, between frames where the source's frame rate varies.
        opening = _at(times, shapes[:, 0])
        n = round((times[-1] - cut / fps) * fps)
        out_times = np.arange(n) / fps
        truth = opening(cut / fps + out_times)
        outputs, runs = {}, ""
        for name, engine in engines.items():
            request = LipsyncInput(video=media_ref(head), audio=media_ref(tail), words=words,
                                   language=transcript.language)
            scratch = work / name
            scratch.mkdir()
            result = engine.lipsync(request, Call(lambda _: None, scratch))
            outputs[name] = result.video.path
            if result.render["method"] == "library":
                runs = f"{result.render['jumps']}/{result.render['runs']}/{n}"
        chance = opening(out_times)
        row = [f"{clip.stem:26} {video_info(clip).width}x{video_info(clip).height:<4} {transcript.language:>4}",
               f"{_r(chance, truth):8.2f}"]
        ratios = [onset_ratio(out_times, truth, _dicts(words))[2]]
        for name in ("library", "warp"):
            if name not in outputs:
                row.append(f"{'-':>9} {'-':>6}")
                ratios.append(np.nan)
                continue
            got = mouth_shapes(outputs[name], work_height=960)[1][:n, 0]
            row.append(f"{_r(got, truth):9.2f} {np.nanmean(np.abs(got - truth[:len(got)])):6.3f}")
            ratios.append(onset_ratio(out_times[:len(got)], got, _dicts(words))[2])
        box = mouth_box(head)
        print(" ".join(row), f"{ratios[0]:11.2f} {ratios[1]:7.2f} {ratios[2]:6.2f} {runs:>17} "
              f"{flicker(head, box, n):14.2f} {flicker(outputs['library'], box, n):7.2f}")
        if args.crops:
            args.crops.mkdir(parents=True, exist_ok=True)
            truth_clip = work / "truth.mp4"
            _tail_video(clip, cut, truth_clip)
            picks = list(np.linspace(5, n - 5, 6).astype(int))
            crops([truth_clip, *outputs.values()], picks, args.crops, clip.stem)


def mouth_box(video: Path) -> tuple[slice, slice]:
    """Rows and columns of a square around the mouth of the video's first frame."""
    rgb = next(frames_rgb(video))
    tracker = tk.FaceTracker()
    pts = tracker(rgb)
    tracker.close()
    (cx, cy), half = pts[13].astype(int), int(0.6 * tk.eye_distance(pts))
    return slice(max(cy - half, 0), cy + half), slice(max(cx - half, 0), cx + half)


def flicker(video: Path, box: tuple[slice, slice], frames: int) -> float:
    """Mean |middle - mean of its neighbours| of the grey mouth box over the first `frames`."""
    steps, before, middle = [], None, None
    for k, rgb in enumerate(frames_rgb(video)):
        if k >= frames:
            break
        grey = cv2.cvtColor(np.ascontiguousarray(rgb[box]), cv2.COLOR_RGB2GRAY).astype(np.float32)
        if before is not None:
            steps.append(np.abs(middle - 0.5 * (before + grey)).mean())
        before, middle = middle, grey
    return float(np.mean(steps))


def _dicts(words) -> list[dict]:
    return [{"word": w.word, "start": w.start, "end": w.end} for w in words]


def _at(times: np.ndarray, values: np.ndarray):
    """values(t) between the frames' own times, skipping frames without a face."""
    ok = np.isfinite(values)
    return lambda t: np.interp(t, times[ok], values[ok])


def _tail_video(clip: Path, cut: int, path: Path) -> None:
    info = video_info(clip)
    writer = VideoWriter(path, info.width, info.height, info.fps, with_sound=False)
    for k, rgb in enumerate(frames_rgb(clip)):
        if k >= cut:
            writer.write(rgb)
    writer.finish()


def _r(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    ok = np.isfinite(a[:n]) & np.isfinite(b[:n])
    return float(np.corrcoef(a[:n][ok], b[:n][ok])[0, 1])


if __name__ == "__main__":
    main()
