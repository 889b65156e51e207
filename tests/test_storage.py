"""Storage backends: local disk with HMAC links, and S3 against a local S3 server (moto)."""

from __future__ import annotations

import time

import boto3
import httpx
import pytest

from reelcore.errors import InvalidSignature, NotFound
from reelcore.settings import Settings
from reelcore.storage import LocalStorage, S3Storage, key_owner, make_storage, owner_key


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch) -> S3Storage:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket="media")
    settings = Settings(storage_backend="s3", s3_bucket="media", s3_endpoint_url=s3_endpoint,
                        s3_prefix="rs/", file_url_ttl_seconds=600)
    storage = make_storage(settings)
    assert isinstance(storage, S3Storage)
    return storage


def test_s3_roundtrip_with_presigned_urls(s3: S3Storage, tmp_path) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"media bytes" * 100)
    key = owner_key("alice", "uploads", "up_1", "clip.mp4")
    s3.put_file(key, source, "video/mp4")
    assert s3.exists(key) and not s3.exists(key + "x")
    url = s3.signed_url(key)
    assert "X-Amz-Signature" in url
    assert httpx.get(url).content == source.read_bytes()
    assert s3.key_from_url(url) == key
    assert s3.key_from_url("https://elsewhere.example.com/rs/owners/alice/x") is None
    with s3.local_copy(key) as path:
        assert path.read_bytes() == source.read_bytes()


def test_local_links_are_bound_to_key_and_expiry(tmp_path) -> None:
    storage = LocalStorage(tmp_path, b"secret", "http://files.test", 60)
    source = tmp_path / "in.wav"
    source.write_bytes(b"RIFF")
    key = owner_key("bob", "jobs", "vj_1", "out.wav")
    storage.put_file(key, source, "audio/wav")
    url = storage.signed_url(key)
    assert storage.key_from_url(url) == key and key_owner(key) == "bob"
    assert storage.key_from_url("http://other.test/v1/files/" + key) is None
    with pytest.raises(InvalidSignature):
        storage.key_from_url(url.replace("bob", "eve"))
    with pytest.raises(InvalidSignature):
        LocalStorage(tmp_path, b"other", "http://files.test", 60).key_from_url(url)
    short = storage.signed_url(key, ttl_seconds=1)
    time.sleep(2.1)
    with pytest.raises(InvalidSignature, match="expired"):
        storage.key_from_url(short)
    with pytest.raises(NotFound):
        storage.path("../../etc/passwd")


def test_production_refuses_the_development_signing_secret() -> None:
    with pytest.raises(ValueError, match="SIGNING_SECRET"):
        Settings(environment="production")
    assert Settings(environment="production", signing_secret="s3cret-value").environment == "production"
