"""The embedded face engines (facemesh-avatar, facemesh-lipsync) through the real API, judged on
their output by an independent landmark pass (tests/lipsync_measure.py, validated on real
footage by bench/validate_lipsync_measure.py): decoded size, rate, length and sound; the mouth
moving with the target speech and not with other speech; lips resting in its pauses and
closing on p, b and m (placed by Whisper's word timings from an analyze job); blinks and head
motion in avatars. Fixtures: the astronaut photo and espeak-ng speech, made on the spot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from tests.conftest import STORY, Owner, upload, wait_for
from tests.lipsync_measure import (
    bilabial_closure,
    fit_length,
    mouth_shapes,
    read_audio,
    rest_in_pauses,
    speech_activity,
    sync_score,
)
from tests.media import speech, talking_video

FRAME = 1 / 25


@dataclass
class Rendered:
    path: Path
    duration: float
    fps: float
    size: tuple[int, int]
    sound: np.ndarray  # 16 kHz mono


def fetch(url: str, path: Path) -> Rendered:
    path.write_bytes(httpx.get(url).content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert container.streams.audio, "the result has a sound track"
        frames = sum(1 for _ in container.decode(stream))
        fps = float(stream.average_rate)
        size = (stream.width, stream.height)
    return Rendered(path, frames / fps, fps, size, read_audio(path))


def same_sound(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the two tracks' 10 ms loudness envelopes, best within +-50 ms."""
    def envelope(x):
        x = x[: len(x) // 160 * 160].reshape(-1, 160)
        return np.log10((x ** 2).mean(axis=1) + 1e-8)
    ea, eb = envelope(a), envelope(b)
    n = min(len(ea), len(eb)) - 10
    return max(np.corrcoef(ea[5:n], eb[5 + lag:n + lag])[0, 1] for lag in range(-5, 6))


def words_of(owner: Owner, audio_url: str) -> list[dict]:
    """Whisper's word timings for a track, from an analyze job on the same service."""
    job = wait_for(owner, owner.api.post("/v1/video/analyze", json={
        "video_url": audio_url, "tasks": ["transcribe"]}).json()["id"])
    assert job["status"] == "completed", job
    return [w for s in job["result"]["transcript"]["segments"] for w in s["words"]]


def run(owner: Owner, kind: str, body: dict) -> dict:
    response = owner.api.post(f"/v1/video/{kind}", json=body)
    assert response.status_code == 202, response.text
    job = wait_for(owner, response.json()["id"], timeout=240)
    assert job["status"] == "completed", job
    return job


def check_sync(video: Path, audio: np.ndarray, other: np.ndarray, words: list[dict],
               min_auc: float = 0.75, max_rest: float = 0.25) -> None:
    """The validated measure passes for `audio` and fails for `other`; beyond it, `min_auc`, lips
    at rest in pauses (gap at most `max_rest` of the speech gap) and closed on p/b/m.

    Real footage with its own sound reaches AUC 0.68-0.76 (docs/lipsync-measure.md): 0.75 asks a
    rendered mouth to follow its speech at least as clearly as a real one does."""
    times, shapes = mouth_shapes(video, work_height=512)
    assert np.isfinite(shapes[:, 0]).mean() > 0.95, "the face is found in the result"
    own = speech_activity(fit_length(audio, times[-1] + FRAME))
    score = sync_score(times, shapes, own)
    assert score.passed, score.row()
    assert score.auc >= min_auc, score.row()
    rest = rest_in_pauses(times, shapes[:, 0], own)
    assert rest < max_rest, f"lips rest through the pauses (gap ratio {rest:.2f})"
    ratio, count = bilabial_closure(times, shapes[:, 0], own, words)
    assert count >= 2 and ratio < 0.5, f"lips close on p/b/m ({count} words, gap ratio {ratio:.2f})"
    stranger = sync_score(times, shapes, speech_activity(fit_length(other, times[-1] + FRAME)))
    assert not stranger.passed, f"other speech must not match: {stranger.row()}"


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("voices")
    return {"first": speech(" ".join(STORY[:3]), root / "first.wav"),
            "second": speech(" ".join(STORY[3:5]), root / "second.wav", voice="en-us+f3"),
            "third": speech(" ".join(STORY[5:8]), root / "third.wav", speed=165)}


@pytest.fixture(scope="module")
def avatar_job(alice: Owner, portrait: Path, voices) -> dict:
    audio = upload(alice, voices["first"])["url"]
    job = run(alice, "avatar", {"image_url": upload(alice, portrait)["url"], "audio_url": audio,
                                "provider": "facemesh-avatar"})
    return {**job, "audio_in": audio}


def test_avatar_speaks_the_audio_with_blinks_and_head_motion(alice: Owner, avatar_job, voices,
                                                            tmp_path) -> None:
    assert avatar_job["provider"] == "facemesh-avatar"
    out = fetch(avatar_job["result"]["video_url"], tmp_path / "avatar.mp4")
    target = read_audio(voices["first"])
    assert out.size == (512, 512) and out.fps == 25
    assert abs(out.duration - len(target) / 16000) <= FRAME
    assert same_sound(out.sound, target) > 0.9, "the sound track is the target audio"
    check_sync(out.path, target, read_audio(voices["third"]), words_of(alice, avatar_job["audio_in"]))

    from deployments.talking_face import tracking as tk

    mesh, eyes, noses = tk.face_mesh(), [], []
    with av.open(str(out.path)) as container:
        for frame in container.decode(video=0):
            pts = tk.landmarks(mesh, frame.to_ndarray(format="rgb24"))
            eyes.append(np.linalg.norm(pts[159] - pts[145]) / tk.eye_distance(pts))
            noses.append(pts[tk.NOSE_TIP])
    eyes = np.array(eyes)
    blinks = np.flatnonzero(np.diff((eyes < 0.5 * np.median(eyes)).astype(int)) == 1)
    assert len(blinks) >= 2, "the eyes blink (about every 2 to 5 s)"
    assert np.ptp(np.array(noses), axis=0).max() > 3, "the head moves a little, not a frozen photo"


def test_lipsync_follows_the_new_speech_not_the_original(alice: Owner, avatar_job, voices,
                                                         tmp_path) -> None:
    """The avatar's output (mouth moving with `first`) re-synced to `second`, which is shorter."""
    audio = upload(alice, voices["second"])["url"]
    job = run(alice, "lipsync", {"video_url": avatar_job["result"]["video_url"], "audio_url": audio,
                                 "provider": "facemesh-lipsync"})
    out = fetch(job["result"]["video_url"], tmp_path / "lipsync.mp4")
    target = read_audio(voices["second"])
    assert out.size == (512, 512) and out.fps == 25
    assert abs(out.duration - len(target) / 16000) <= FRAME
    assert same_sound(out.sound, target) > 0.9
    # The source's mouth is itself rendered (the avatar above): the landmark pass puts its inner
    # lips on the edge of the painted teeth, so closing it leaves some of them showing between the
    # lips, 0.02-0.04 eye distances, which the landmark pass counts as a gap. On real footage the
    # closed lips meet (docs/lipsync-measure.md).
    check_sync(out.path, target, read_audio(voices["first"]), words_of(alice, audio), max_rest=0.55)
    # 62 px between the astronaut's eye corners at 512 px: too few pixels to lend mouths.
    assert job["result"]["render"]["method"] == "warp", job["result"]["render"]
    assert "the face is small" in job["result"]["render"]["reason"]


def test_lipsync_draws_mouths_from_the_clip_and_keeps_the_whole_video_with_silence(
        alice: Owner, voices, tmp_path) -> None:
    """A 768 px talking clip (the avatar engine's, its mouth opening by known amounts) lends its
    own mouths; `sync_mode: silence` keeps all of the video and pads the shorter speech."""
    import cv2
    from skimage.data import astronaut

    photo = tmp_path / "astronaut768.png"
    cv2.imwrite(str(photo), cv2.cvtColor(cv2.resize(astronaut(), (768, 768)), cv2.COLOR_RGB2BGR))
    clip = run(alice, "avatar", {"image_url": upload(alice, photo)["url"], "provider": "facemesh-avatar",
                                 "audio_url": upload(alice, voices["first"])["url"]})
    audio = upload(alice, voices["second"])["url"]
    job = run(alice, "lipsync", {"video_url": clip["result"]["video_url"], "audio_url": audio,
                                 "provider": "facemesh-lipsync", "sync_mode": "silence"})
    render = job["result"]["render"]
    assert render["method"] == "library" and render["sync_mode"] == "silence", render
    assert render["library_frames"] > 100 and render["distinct_frames_used"] > 10
    out = fetch(job["result"]["video_url"], tmp_path / "silence.mp4")
    source = fetch(clip["result"]["video_url"], tmp_path / "clip.mp4")
    target = read_audio(voices["second"])
    assert out.size == (768, 768) and abs(out.duration - source.duration) <= FRAME
    assert np.abs(out.sound[len(target) + 3200:]).max() < 0.01, "silence after the speech"
    times, shapes = mouth_shapes(out.path, work_height=512)
    score = sync_score(times, shapes, speech_activity(fit_length(target, times[-1] + FRAME)))
    assert score.passed, score.row()


def test_lipsync_plays_a_short_clip_back_and_forth_to_cover_longer_speech(
        alice: Owner, media: Path, voices, tmp_path) -> None:
    short = talking_video(tmp_path / "short.mp4", None, seconds=2.0, size=320)
    job = run(alice, "lipsync", {"video_url": upload(alice, short)["url"],
                                 "audio_url": upload(alice, voices["first"])["url"],
                                 "provider": "facemesh-lipsync"})
    out = fetch(job["result"]["video_url"], tmp_path / "long.mp4")
    assert out.size == (320, 320)
    assert abs(out.duration - len(read_audio(voices["first"])) / 16000) <= FRAME


@pytest.mark.parametrize("case, code", [
    ("faceless portrait", "no_face_detected"),
    ("silent speech", "no_speech_detected"),
    ("faceless video", "no_face_detected"),
    ("video without audio as audio", "unsupported_media"),
])
def test_face_engines_fail_clearly(alice: Owner, media: Path, portrait: Path, voices, tmp_path,
                                   case: str, code: str) -> None:
    from skimage.data import coffee
    from skimage.io import imsave

    from tests.media import silence

    faceless = tmp_path / "coffee.png"
    imsave(faceless, coffee())
    hush = silence(tmp_path / "hush.m4a", 3, rate=16000)
    kind, body = {
        "faceless portrait": ("avatar", {"image_url": faceless, "audio_url": voices["first"],
                                         "provider": "facemesh-avatar"}),
        "silent speech": ("avatar", {"image_url": portrait, "audio_url": hush,
                                     "provider": "facemesh-avatar"}),
        "faceless video": ("lipsync", {"video_url": talking_video(tmp_path / "cup.mp4", None, 1.0,
                                                                  image=coffee()),
                                       "audio_url": voices["first"], "provider": "facemesh-lipsync"}),
        "video without audio as audio": ("lipsync", {"video_url": media / "sentence.mp4",
                                                     "audio_url": media / "silent.mp4",
                                                     "provider": "facemesh-lipsync"}),
    }[case]
    body = {k: upload(alice, v)["url"] if isinstance(v, Path) else v for k, v in body.items()}
    job = wait_for(alice, alice.api.post(f"/v1/video/{kind}", json=body).json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == code, job
