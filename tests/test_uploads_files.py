"""Uploads are probed by content; files are served behind signed, expiring URLs."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from reelcore.storage import LocalStorage
from tests.conftest import Owner


def post_file(owner: Owner, name: str, data: bytes) -> httpx.Response:
    return owner.api.post("/v1/uploads", files={"file": (name, data)})


def test_upload_reports_what_probing_found(alice: Owner, media) -> None:
    response = post_file(alice, "clip.mp4", (media / "sentence.mp4").read_bytes())
    assert response.status_code == 201
    upload = response.json()
    assert upload["id"].startswith("up_") and upload["filename"] == "clip.mp4"
    assert upload["media"]["has_video"] and upload["media"]["has_audio"]
    assert (upload["media"]["width"], upload["media"]["height"]) == (256, 256)
    assert upload["media"]["fps"] == 25.0
    assert 3.0 < upload["media"]["duration_seconds"] < 6.0
    downloaded = httpx.get(upload["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == (media / "sentence.mp4").read_bytes()


def test_an_image_upload_is_recognised_as_an_image(alice: Owner, portrait) -> None:
    upload = post_file(alice, "face.bin", portrait.read_bytes()).json()
    assert upload["media"]["is_image"] and not upload["media"]["has_video"]
    assert (upload["media"]["width"], upload["media"]["height"]) == (512, 512)


@pytest.mark.parametrize("name", ["corrupt.mp4", "notes.txt"])
def test_non_media_uploads_are_refused_by_content(alice: Owner, media, name: str) -> None:
    response = post_file(alice, "video.mp4", (media / name).read_bytes())
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media"


def test_uploads_over_the_limit_are_refused(alice: Owner) -> None:
    response = post_file(alice, "big.mp4", b"\0" * (20 * 2**20 + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_file_names_cannot_escape_the_owners_folder(alice: Owner, media) -> None:
    upload = post_file(alice, "../../../etc/passwd.mp4", (media / "sentence.mp4").read_bytes()).json()
    assert upload["filename"] == "passwd.mp4"
    assert "/owners/alice/uploads/" in upload["url"]


def test_tampered_expired_and_traversal_links_are_refused(alice: Owner, media, service) -> None:
    url = post_file(alice, "clip.mp4", (media / "sentence.mp4").read_bytes()).json()["url"]
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    other_key = parts.path.replace("alice", "bob")
    forged = f"{service.base_url}{other_key}?expires={query['expires'][0]}&signature={query['signature'][0]}"
    assert httpx.get(forged).status_code == 403
    assert httpx.get(url.replace("signature=", "signature=0")).json()["error"]["code"] == "invalid_signature"
    assert httpx.get(f"{service.base_url}{parts.path}").status_code == 422

    storage = LocalStorage(service.storage_dir, b"dev-only-signing-secret-change-me",
                           service.base_url, 3600)
    key = parts.path.removeprefix("/v1/files/")
    expired = storage.signed_url(key, ttl_seconds=2)  # whole seconds: valid for at least 1 s
    assert httpx.get(expired).status_code == 200
    time.sleep(3.1)
    assert httpx.get(expired).status_code == 403
    sneaky = storage.signed_url("../../../../etc/passwd")
    assert httpx.get(sneaky).status_code in (403, 404)
