"""The sample-based mouth, engine called directly (no Serve), on rights-clean clips made here: a
talking clip rendered by the avatar engine from the astronaut photo (its mouth opens by known
amounts) serves as the library. Also the visemes, the sync modes and the choice of face."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from deployments.facemesh_avatar import FaceMeshAvatarEngine
from deployments.facemesh_lipsync import FaceMeshLipsyncEngine
from deployments.talking_face import composite, drive, mouth_choice, timeline, visemes
from deployments.talking_face import tracking as tk
from deployments.talking_face.mouth_library import LibraryBuilder, MouthLibrary, MouthPatch
from deployments.talking_face.video_io import frames_rgb, read_audio, video_info
from reelcore.capabilities.face import AnimateInput, LipsyncInput
from reelcore.engine import Call
from reelcore.schemas import FacePick, Word
from tests.conftest import STORY
from tests.lipsync_measure import fit_length, mouth_shapes, speech_activity, sync_score
from tests.media import speech, talking_video
from tests.test_facemesh_engine import frames_of, local


def call(tmp_path: Path) -> Call:
    folder = tmp_path / f"work{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    return Call(lambda _: None, folder)


@pytest.fixture(scope="module")
def talking(tmp_path_factory) -> dict[str, Path]:
    """A 768x768 clip of the astronaut speaking one text (the library) and two other speeches."""
    root = tmp_path_factory.mktemp("talking")
    photo = root / "photo.png"
    cv2.imwrite(str(photo), cv2.cvtColor(cv2.resize(astronaut(), (768, 768)), cv2.COLOR_RGB2BGR))
    first = speech(" ".join(STORY[:2]), root / "first.wav")
    avatar = FaceMeshAvatarEngine()
    avatar.load()
    clip = avatar.animate(AnimateInput(image=local(photo), audio=local(first)), Call(lambda _: None, root))
    return {"clip": clip.video.path, "first": first,
            "second": speech(" ".join(STORY[3:5]), root / "second.wav", voice="en-us+f3"),
            "photo": photo}


@pytest.fixture(scope="module")
def engine() -> FaceMeshLipsyncEngine:
    engine = FaceMeshLipsyncEngine()
    engine.load()
    return engine


def test_every_mouth_comes_from_the_clip_and_follows_the_new_speech(engine, talking, tmp_path) -> None:
    result = engine.lipsync(LipsyncInput(video=local(talking["clip"]), audio=local(talking["second"])),
                            call(tmp_path))
    assert result.render["method"] == "library", result.render
    assert result.render["distinct_frames_used"] > 10 and result.render["runs"] >= 2
    samples = read_audio(talking["second"])
    assert abs(result.duration_seconds - len(samples) / 16000) <= 1 / 25
    # The mouth opens where the new speech asks, read by an independent landmark pass.
    times, shapes = mouth_shapes(result.video.path, work_height=512)
    wanted = drive.mouth_curve(samples, 25, len(times)).openness
    ok = np.isfinite(shapes[:, 0])
    assert np.corrcoef(wanted[ok], shapes[ok, 0])[0, 1] > 0.6
    score = sync_score(times, shapes, speech_activity(fit_length(samples, times[-1] + 0.04)))
    assert score.passed, score.row()
    first = read_audio(talking["first"])
    other = sync_score(times, shapes, speech_activity(fit_length(first, times[-1] + 0.04)))
    assert not other.passed, other.row()


def test_a_mouth_put_back_into_its_own_frame_changes_nothing(talking) -> None:
    rgb = next(frames_rgb(talking["clip"]))
    tracker = tk.FaceTracker()
    pts = tracker(rgb)
    tracker.close()
    builder = LibraryBuilder(budget_mb=64, expected_frames=1)
    builder.add(0, rgb, pts)
    library = builder.build([pts])
    out = composite.paste_mouth(rgb.copy(), pts, library.patches[0])
    assert np.abs(out.astype(int) - rgb.astype(int)).mean() < 0.5
    # Into a frame of the same face shifted by 12 px, the mouth lands shifted by 12 px.
    shifted = np.roll(rgb, 12, axis=1)
    placed = composite.paste_mouth(shifted.copy(), pts + np.array([12, 0]), library.patches[0])
    x0, y0 = (pts[13] - 40).astype(int)
    assert np.abs(placed[y0:y0 + 80, x0 + 12:x0 + 92].astype(int)
                  - rgb[y0:y0 + 80, x0:x0 + 80].astype(int)).mean() < 2


def test_a_clip_with_no_open_mouth_falls_back_to_the_warp_and_says_so(engine, talking, tmp_path) -> None:
    still = talking_video(tmp_path / "still.mp4", talking["first"], size=768)
    result = engine.lipsync(LipsyncInput(video=local(still), audio=local(talking["second"])), call(tmp_path))
    assert result.render["method"] == "warp"
    assert "no open-mouth frames" in result.render["reason"]


def test_a_small_face_falls_back_to_the_warp_and_says_so(talking, tmp_path) -> None:
    engine = FaceMeshLipsyncEngine(min_eye_px=1000)
    engine.load()
    result = engine.lipsync(LipsyncInput(video=local(talking["clip"]), audio=local(talking["second"])),
                            call(tmp_path))
    assert result.render["method"] == "warp" and "the face is small" in result.render["reason"]


@pytest.mark.parametrize(("mode", "seconds"), [("cut_off", "shorter"), ("silence", "longer"),
                                                ("remap", "audio"), ("loop", "audio")])
def test_sync_modes_decide_the_length(engine, talking, tmp_path, mode, seconds) -> None:
    short = speech(STORY[6], tmp_path / "short.wav")
    video_s = video_info(talking["clip"]).frames / 25
    audio_s = len(read_audio(short)) / 16000
    assert audio_s < video_s - 1
    result = engine.lipsync(LipsyncInput(video=local(talking["clip"]), audio=local(short), sync_mode=mode),
                            call(tmp_path))
    expected = {"shorter": audio_s, "longer": video_s, "audio": audio_s}[seconds]
    assert abs(result.duration_seconds - expected) <= 1 / 25, (mode, result.duration_seconds, expected)
    assert result.render["sync_mode"] == mode
    frames = frames_of(result.video.path)
    assert len(frames) == round(result.duration_seconds * 25)
    if mode == "silence":  # the sound is padded with silence to the video's end
        sound = read_audio(result.video.path)
        assert np.abs(sound[int((audio_s + 0.3) * 16000):]).max() < 0.01


def test_playback_orders() -> None:
    assert timeline.playback_order("bounce", 9, 4) == [0, 1, 2, 3, 2, 1, 0, 1, 2]
    assert timeline.playback_order("loop", 6, 4) == [0, 1, 2, 3, 0, 1]
    assert timeline.playback_order("remap", 7, 4) == [0, 0, 1, 2, 2, 2, 3]
    assert timeline.playback_order("remap", 2, 5) == [0, 4]
    assert timeline.playback_order("bounce", 3, 1) == [0, 0, 0]
    modes = ("bounce", "cut_off", "silence", "remap")
    assert [timeline.output_frames(m, 10, 30) for m in modes] == [10, 10, 30, 10]
    assert timeline.plays_backwards([0, 1, 2, 1]) and not timeline.plays_backwards([0, 1, 2, 0, 1])


def pair(talking: dict[str, Path], path: Path, speaker: str) -> Path:
    """Two people side by side: the library clip (speaking `first`) on the `speaker` side, its
    still first frame on the other; the sound is `first`."""
    from deployments.talking_face.video_io import VideoWriter

    frames = list(frames_rgb(talking["clip"]))
    writer = VideoWriter(path, 1536, 768, 25, crf=12)
    for rgb in frames:
        writer.write(np.hstack([rgb, frames[0]] if speaker == "left" else [frames[0], rgb]))
    writer.finish(talking["first"])
    return path


def mouth_changes(talking: dict[str, Path], result: Path, source: Path) -> tuple[float, float]:
    """The largest mean change around the left and the right face's mouth, over the frames."""
    tracker = tk.FaceTracker()
    x, y = tracker(next(frames_rgb(talking["clip"])))[13].astype(int)
    tracker.close()
    out, before = frames_of(result), frames_of(source)

    def change(offset: int) -> float:
        box = (slice(y - 60, y + 60), slice(x + offset - 80, x + offset + 80))
        return max(np.abs(o[box].astype(int) - s[box].astype(int)).mean()
                   for o, s in zip(out, before, strict=False))

    return change(0), change(768)


def test_the_picked_face_is_re_rendered_and_the_other_left_alone(engine, talking, tmp_path) -> None:
    video = pair(talking, tmp_path / "pair.mp4", speaker="left")
    result = engine.lipsync(LipsyncInput(video=local(video), audio=local(talking["second"]),
                                         face=FacePick(frame=0, x=1140, y=390)), call(tmp_path))
    left, right = mouth_changes(talking, result.video.path, video)
    # The left face speaks (its mouth moves from frame to frame): re-encoding alone changes it
    # by about 2.5 on average around the mouth; a re-rendered mouth changes by over 8.
    assert left < 4, "the face that was not picked is left as it was"
    assert right > 8, "the picked face's mouth is re-rendered"


@pytest.mark.parametrize("speaker", ["left", "right"])
def test_by_default_the_face_that_speaks_is_re_rendered(engine, talking, tmp_path, speaker) -> None:
    video = pair(talking, tmp_path / "pair.mp4", speaker=speaker)
    result = engine.lipsync(LipsyncInput(video=local(video), audio=local(talking["second"])), call(tmp_path))
    changed = dict(zip(("left", "right"), mouth_changes(talking, result.video.path, video), strict=True))
    silent = "right" if speaker == "left" else "left"
    assert changed[silent] < 2 and changed[speaker] > 8, changed


def test_visemes_shape_the_mouth_by_phoneme() -> None:
    assert visemes.phonemes(["map", "shoe", "", "see"], "en-US")[0][0] == "m"
    words = [Word(start=0.0, end=0.5, word=" map", probability=1),
             Word(start=0.6, end=1.0, word=" two", probability=1),
             Word(start=1.1, end=1.5, word=" see!", probability=1)]
    phones = visemes.place(words, "en-US")
    assert phones[0].closed and phones[0].start == 0.0 and abs(phones[-1].end - 1.5) < 1e-9
    times = np.arange(0, 2.0, 0.01)
    opening, width, inside, shut = visemes.shape_curves(phones, times)
    assert opening[np.abs(times - (phones[0].start + phones[0].end) / 2) < 0.02].max() == 0.0, "m closes"
    assert shut[times < phones[0].end].all() and not shut[(times > 0.15) & (times < 0.3)].any()
    assert opening[(times > 0.15) & (times < 0.45)].max() > 0.7, "the a in map opens wide"
    assert width[(times > 0.8) & (times < 0.95)].min() < -0.5, "oo in two is rounded"
    assert width[(times > 1.3) & (times < 1.45)].max() > 0.5, "ee in see is spread"
    assert not inside[times > 1.6].any() and opening[times > 1.7].max() == 0.0, "closed after speech"


def test_visemes_read_other_languages() -> None:
    assert visemes.phonemes(["obrigado", "mesa"], "pt-BR")[1][0] == "m"
    assert visemes.espeak_voice("pt-BR") == "pt-br" and visemes.espeak_voice(None) == "en-us"


def test_lips_shut_on_p_b_m_at_word_onsets_and_inside_words() -> None:
    """One mechanism (the visemes' closures) shuts the lips, even where the sound is loud and
    before a word's delayed vowel shapes begin."""
    rng = np.random.default_rng(0)
    samples = np.zeros(48000, np.float32)
    samples[8000:40000] = 0.1 * rng.standard_normal(32000)  # 2 s of loud sound between silences
    words = [Word(start=0.5, end=0.9, word=" map", probability=1),
             Word(start=0.9, end=1.5, word=" sample", probability=1),
             Word(start=1.6, end=2.4, word=" today", probability=1)]
    fps = 100
    curve = drive.mouth_curve(samples, fps, 300, words, "en-US")
    times = np.arange(300) / fps
    closed = [p for p in visemes.place(words, "en-US") if p.closed]
    assert len(closed) >= 3, "m in map, m and p in sample"
    for p in closed:
        assert curve.openness[(times >= p.start - 0.03) & (times <= p.end)].max() == 0.0, p
    assert curve.openness[(times > 0.6) & (times < 0.8)].max() > 0.5, "the a in map opens"
    assert curve.openness[(times > 1.7) & (times < 2.3)].max() > 0.3, "today opens"


def made_library(frames: list[int], openings: np.ndarray, thumbs: np.ndarray) -> MouthLibrary:
    """A library without pictures: source frame numbers, openings and look-alike thumbnails."""
    patches = [MouthPatch(np.zeros((2, 2, 3), np.uint8), np.zeros(2), np.zeros((478, 2)), k) for k in frames]
    features = np.c_[openings, np.full(len(frames), 0.5), np.zeros((len(frames), 2))]
    return MouthLibrary(patches, features, thumbs.astype(np.float32))


def test_the_choice_follows_real_motion_rather_than_jumping_between_closer_shapes(monkeypatch) -> None:
    """One take opens steadily over 30 frames: its first frame has the wanted opening, the
    others fall 0.01 short; 600 stray frames (20 for each wanted opening) come closer (0.005
    over) but look unlike each other. Jumping between the strays every frame would flicker:
    the path must play the take through, though its next frame is never among the closest
    shapes, and the same path must come out of any block size."""
    rng = np.random.default_rng(1)
    wanted = np.linspace(0.05, 0.95, 30)
    take = np.arange(30)
    strays = 100 + 3 * np.arange(600)  # never consecutive
    ramp = np.linspace(-1, 1, 64)
    looks = np.r_[[ramp * o for o in wanted - 0.01], rng.standard_normal((600, 64))]
    openings = np.r_[wanted[0], wanted[1:] - 0.01, np.repeat(wanted + 0.005, 20)]
    library = made_library([*take, *strays], openings, looks)
    args = (library, wanted, np.zeros(30), np.zeros((30, 2)))
    path = mouth_choice.choose(*args)
    assert path.tolist() == take.tolist()
    monkeypatch.setattr(mouth_choice, "BLOCK", 7)
    assert mouth_choice.choose(*args).tolist() == path.tolist()


def test_a_jump_between_runs_is_spread_over_two_frames() -> None:
    library = made_library([0, 1, 2, 3, 10, 11, 12, 13], np.linspace(0, 1, 8), np.zeros((8, 4)))
    shown = mouth_choice.layers(library, np.array([0, 1, 1, 5, 6, 2]), fade=0.3)
    assert shown[0] == [(0, 1.0)] and shown[1] == [(1, 1.0)], "a run and a hold: one mouth"
    assert shown[2] == [(1, 1.0), (4, 0.3)], "before the jump: a little of the new run's frame before"
    assert shown[3] == [(5, 1.0), (2, 0.3)], "after it: a little of where the old run was going"
    assert shown[4] == [(6, 1.0), (1, 0.3)] and shown[5] == [(2, 1.0), (7, 0.3)], "a second jump"


def stamped_vfr(source: Path, path: Path, keep: list[int]) -> Path:
    """A variable-rate copy of the 25 fps `source`: only its frames `keep`, each at its own
    time (pts in 1/25 s) and stamped with its number in the top-left corner (two grey blocks)."""
    import av

    frames = list(frames_rgb(source))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"crf": "10"}
        for k in keep:
            rgb = frames[k].copy()
            rgb[:32, :32], rgb[:32, 32:64] = (k % 16) * 16, (k // 16) * 16
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def stamps(path: Path) -> list[int]:
    return [round(rgb[8:24, 8:24].mean() / 16) + 16 * round(rgb[8:24, 40:56].mean() / 16)
            for rgb in frames_rgb(path)]


def test_a_variable_rate_clip_is_read_and_lipsynced_at_its_own_times(engine, talking, tmp_path) -> None:
    """A clip that skipped frames (as phones do) is read at its base rate with the frame shown
    at each moment, and the lipsynced video shows each source frame at its own time."""
    count = video_info(talking["clip"]).frames
    keep = [k for k in range(count) if k % 5 not in (2, 3)]  # 15 of 25 frames a second
    vfr = stamped_vfr(talking["clip"], tmp_path / "vfr.mp4", keep)
    info = video_info(vfr)
    assert (info.fps, info.frames) == (25.0, keep[-1] + 1)
    wanted = [max(k for k in keep if k <= i) for i in range(info.frames)]
    assert stamps(vfr) == wanted
    result = engine.lipsync(LipsyncInput(video=local(vfr), audio=local(talking["second"]), sync_mode="silence"),
                            call(tmp_path))
    assert result.fps == 25 and result.render["method"] == "library"
    shown = stamps(result.video.path)
    assert len(shown) >= info.frames and shown[:info.frames] == wanted
