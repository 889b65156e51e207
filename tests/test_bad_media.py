"""Bad media (issue 13 item 7): broken, hostile or unusual inputs each end in a stable
`error.code` or a correct output; never a 500, never a crashed replica.

In process: `probe` and the engines' decoders on every file of the corpus (tests/bad_media.py).
Through the service: the upload's answer, and the job's end when the same file comes by URL.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFile
from skimage.data import astronaut

import reelcore.media
from deployments.talking_face.video_io import frames_rgb, read_audio, read_channels, video_info
from reelcore.errors import InputTooLarge, UnsupportedMedia
from reelcore.media import probe
from reelcore.settings import Settings
from tests import bad_media
from tests.conftest import Owner, upload, wait_for
from tests.media import silence, speech, talking_video

LIMIT = Settings().max_video_pixels


@pytest.fixture(scope="module")
def corpus(media: Path, portrait: Path) -> Path:
    """Every file of the corpus, in `media/bad/` (served by `media_host` under `/bad/`)."""
    root = media / "bad"
    root.mkdir(exist_ok=True)
    hello = speech("Hello there, how are you?", root / "hello.wav")
    clip = talking_video(root / "clip.mp4", hello, size=128)
    bad_media.truncated(media / "sentence.mp4", root / "truncated.mp4")
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("not a video\n" * 100)
    shutil.copy(portrait, root / "photo.wav")
    bad_media.no_frames(root / "no_frames.mp4")
    bad_media.blank_video(root / "8k.mp4", 7680, 4320)
    bad_media.bomb_png(root / "bomb.png")
    bad_media.phone_video(root / "phone.mp4", hello)
    bad_media.styled_video(root / "ten_bit.mp4", clip, "yuv420p10le")
    bad_media.styled_video(root / "yuv444.mp4", clip, "yuv444p")
    bad_media.surround(root / "surround.wav", media / "sentence.wav")
    silence(root / "audio_only.mp4", 2)
    bad_media.picture(root / "portrait.gif", "GIF")
    bad_media.picture(root / "portrait.webp", "WEBP")
    return root


# --- in process: probe and the decoders -----------------------------------------------------

REFUSED = [  # file, error class, what the message says
    ("truncated.mp4", UnsupportedMedia, "not a media file"),
    ("empty.mp4", UnsupportedMedia, "not a media file"),
    ("text.mp4", UnsupportedMedia, "not a media file"),
    ("no_frames.mp4", UnsupportedMedia, "neither pictures nor sound"),
    ("8k.mp4", InputTooLarge, "7680 x 4320"),
    ("bomb.png", InputTooLarge, "too many pixels"),
]


@pytest.mark.parametrize(("name", "error", "says"), REFUSED)
def test_probe_refuses_with_a_stable_error(corpus: Path, name: str, error: type, says: str) -> None:
    with pytest.raises(error, match=says):
        probe(corpus / name, LIMIT)


@pytest.mark.parametrize("side", [5000, 16_000])
def test_a_decompression_bomb_is_refused_from_its_header_before_any_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, side: int
) -> None:
    """5,000 px square is under Pillow's own guard (89 MP) but over ours; 16,000 is over both."""
    bomb = bad_media.bomb_png(tmp_path / "bomb.png", side)
    assert bomb.stat().st_size < 100_000

    def decoded(*_, **__):
        raise AssertionError("the bomb reached a decoder")

    monkeypatch.setattr(reelcore.media.av, "open", decoded)
    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)
    with pytest.raises(InputTooLarge):
        probe(bomb, LIMIT)


DESCRIBED = [  # file, what probe must find
    ("photo.wav", {"is_image": True, "has_audio": False, "width": 512}),
    ("phone.mp4", {"has_video": True, "has_audio": True, "width": 192, "height": 256, "rotation": 90}),
    ("ten_bit.mp4", {"has_video": True, "width": 128, "height": 128}),
    ("yuv444.mp4", {"has_video": True, "width": 128, "height": 128}),
    ("surround.wav", {"has_audio": True, "has_video": False}),
    ("audio_only.mp4", {"has_audio": True, "has_video": False, "width": None}),
    ("portrait.gif", {"has_audio": False, "width": 256, "height": 256}),
    ("portrait.webp", {"is_image": True, "width": 256, "height": 256}),
]


@pytest.mark.parametrize(("name", "expected"), DESCRIBED)
def test_probe_describes_unusual_but_valid_media(corpus: Path, name: str, expected: dict) -> None:
    info = probe(corpus / name, LIMIT).model_dump()
    assert {k: info[k] for k in expected} == expected


def _astronaut(width: int, height: int) -> np.ndarray:
    import cv2

    return cv2.resize(astronaut(), (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)


def test_a_phone_video_is_decoded_upright_at_a_constant_rate(corpus: Path) -> None:
    info = video_info(corpus / "phone.mp4")
    assert (info.width, info.height) == (192, 256)
    seconds = probe(corpus / "phone.mp4").duration_seconds
    assert abs(info.frames / info.fps - seconds) < 0.1  # frames 1/30 s and 1/20 s apart in turn
    frames = list(frames_rgb(corpus / "phone.mp4"))
    assert len(frames) == info.frames and frames[0].shape == (256, 192, 3)
    upright = np.abs(frames[0] - _astronaut(192, 256)).mean()
    assert upright < 12, "the face is upright, as the phone showed it"


@pytest.mark.parametrize("name", ["ten_bit.mp4", "yuv444.mp4"])
def test_ten_bit_and_full_chroma_video_decode_to_8_bit_rgb(corpus: Path, name: str) -> None:
    frames = list(frames_rgb(corpus / name))
    assert frames and all(f.shape == (128, 128, 3) and f.dtype == np.uint8 for f in frames)
    assert np.abs(frames[0] - _astronaut(128, 128)).mean() < 12


def test_six_channel_audio_is_mixed_down_with_the_voice_kept(corpus: Path, media: Path) -> None:
    original = read_audio(media / "sentence.wav")
    mono = read_audio(corpus / "surround.wav")
    assert read_channels(corpus / "surround.wav", 16000).shape[0] == 2  # 5.1 becomes stereo
    assert abs(len(mono) - len(original)) <= 160
    n = min(len(mono), len(original))
    assert np.corrcoef(mono[:n], original[:n])[0, 1] > 0.95


def test_a_video_without_frames_is_refused_by_the_decoders(corpus: Path) -> None:
    with pytest.raises(UnsupportedMedia, match="no video stream"):  # FFmpeg drops a frameless track
        video_info(corpus / "no_frames.mp4")


# --- through the service --------------------------------------------------------------------


def _dead_replicas() -> set[str]:
    from ray.util.state import list_actors

    dead = list_actors(filters=[("state", "=", "DEAD")], limit=10_000, raise_on_missing_output=False)
    return {actor.actor_id for actor in dead if "ServeReplica" in actor.class_name}


@pytest.fixture(scope="module")
def dead_before(service) -> set[str]:
    """Serve replicas dead before the corpus went through the service."""
    return _dead_replicas()

UPLOAD_REFUSED = [  # file, upload status, code, the field a job names
    ("truncated.mp4", 415, "unsupported_media", "video_url"),
    ("empty.mp4", 415, "unsupported_media", "video_url"),
    ("text.mp4", 415, "unsupported_media", "video_url"),
    ("no_frames.mp4", 415, "unsupported_media", "video_url"),
    ("8k.mp4", 413, "input_too_large", "video_url"),
    ("bomb.png", 413, "input_too_large", "image_url"),
]


def _submit(owner: Owner, field: str, url: str, hello: str) -> dict:
    if field == "image_url":
        body = {"image_url": url, "audio_url": hello, "provider": "facemesh-avatar"}
        response = owner.api.post("/v1/video/avatar", json=body)
    else:
        response = owner.api.post("/v1/video/analyze", json={"video_url": url, "tasks": ["transcribe"]})
    assert response.status_code == 202, response.text
    return response.json()


@pytest.mark.parametrize(("name", "status", "code", "field"), UPLOAD_REFUSED)
def test_bad_files_are_refused_at_upload_and_fail_jobs_by_url(
    dead_before: set[str], alice: Owner, media_host, corpus: Path, name: str, status: int, code: str, field: str
) -> None:
    with open(corpus / name, "rb") as file:
        response = alice.api.post("/v1/uploads", files={"file": (name, file)})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code

    job = wait_for(alice, _submit(alice, field, media_host.url(f"/bad/{name}"),
                                  media_host.url("/bad/hello.wav"))["id"])
    assert job["status"] == "failed", job
    assert job["error"]["code"] == code
    assert job["error"]["message"].startswith(f"{field}: ")


FAILED_JOBS = [  # id, operation, body (paths on the media host), code, what the message says
    ("audio-only mp4 as lipsync video", "lipsync",
     {"video_url": "/bad/audio_only.mp4", "audio_url": "/bad/hello.wav"}, "unsupported_media", "video_url"),
    ("a picture named .wav as lipsync audio", "lipsync",
     {"video_url": "/bad/clip.mp4", "audio_url": "/bad/photo.wav"}, "unsupported_media", "audio_url"),
    ("a URL trickling bytes", "analyze",
     {"video_url": "/slow?seconds=60", "tasks": ["transcribe"]}, "input_unreachable", "longer than 15 s"),
    ("a URL over the size limit, declared", "analyze",
     {"video_url": f"/big?bytes={21 * 2**20}&declare=1", "tasks": ["transcribe"]}, "input_too_large", "limit"),
    ("a URL over the size limit, streamed", "analyze",
     {"video_url": f"/big?bytes={21 * 2**20}", "tasks": ["transcribe"]}, "input_too_large", "limit"),
]


@pytest.mark.parametrize(("operation", "body", "code", "says"), [f[1:] for f in FAILED_JOBS],
                         ids=[f[0] for f in FAILED_JOBS])
def test_bad_inputs_fail_the_job_with_a_stable_code(
    alice: Owner, media_host, corpus: Path, operation: str, body: dict, code: str, says: str
) -> None:
    urls = {k: media_host.url(v) if k.endswith("_url") else v for k, v in body.items()}
    if operation == "lipsync":
        urls["provider"] = "facemesh-lipsync"
    response = alice.api.post(f"/v1/video/{operation}", json=urls)
    assert response.status_code == 202, response.text
    job = wait_for(alice, response.json()["id"], timeout=90)
    assert job["status"] == "failed", job
    assert job["error"]["code"] == code and says in job["error"]["message"], job["error"]


@pytest.mark.parametrize("name", ["portrait.gif", "portrait.webp"])
def test_gif_and_webp_portraits_make_an_avatar(alice: Owner, corpus: Path, name: str) -> None:
    body = {"image_url": upload(alice, corpus / name)["url"],
            "audio_url": upload(alice, corpus / "hello.wav")["url"], "provider": "facemesh-avatar"}
    job = wait_for(alice, alice.api.post("/v1/video/avatar", json=body).json()["id"], timeout=180)
    assert job["status"] == "completed", job
    assert (job["result"]["width"], job["result"]["height"]) == (256, 256)


def test_an_upright_phone_video_is_lipsynced_upright(alice: Owner, corpus: Path) -> None:
    uploaded = upload(alice, corpus / "phone.mp4")
    assert uploaded["media"]["rotation"] == 90 and uploaded["media"]["width"] == 192
    body = {"video_url": uploaded["url"], "audio_url": upload(alice, corpus / "hello.wav")["url"],
            "provider": "facemesh-lipsync"}
    job = wait_for(alice, alice.api.post("/v1/video/lipsync", json=body).json()["id"], timeout=240)
    assert job["status"] == "completed", job
    assert (job["result"]["width"], job["result"]["height"]) == (192, 256)


@pytest.mark.parametrize("name", ["ten_bit.mp4", "yuv444.mp4", "surround.wav"])
def test_ten_bit_full_chroma_and_six_channel_inputs_are_analysed(
    alice: Owner, corpus: Path, name: str
) -> None:
    tasks = ["transcribe"] if name.endswith(".wav") else ["transcribe", "scenes"]
    body = {"video_url": upload(alice, corpus / name)["url"], "tasks": tasks}
    job = wait_for(alice, alice.api.post("/v1/video/analyze", json=body).json()["id"], timeout=180)
    assert job["status"] == "completed", job
    text = job["result"]["transcript"]["text"].lower()
    assert ("weekly report" if name.endswith(".wav") else "hello") in text
    if "scenes" in tasks:
        assert len(job["result"]["scenes"]) == 1


def test_no_replica_died_on_the_corpus(dead_before: set[str], alice: Owner, media_host) -> None:
    assert _dead_replicas() == dead_before
    job = wait_for(alice, _submit(alice, "video_url", media_host.url("/sentence.mp4"), "")["id"])
    assert job["status"] == "completed", "the service still works after the corpus"
