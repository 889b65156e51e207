"""Where media lives between stages: local disk (signed URLs served by the ingress) or S3.

Media moves between deployments as storage keys, never as local paths or bytes, because the
next replica may run on another node. Keys start with `owners/{owner_id}/`, so a key also
says whose file it is. All methods block: call them from a thread, not an event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from reelcore.errors import InvalidSignature, NotFound
from reelcore.settings import Settings, get_settings

FILES_ROUTE = "/v1/files/"


def owner_key(owner_id: str, *parts: str) -> str:
    return "/".join(["owners", owner_id, *parts])


def key_owner(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "owners" else None


class Storage(ABC):
    @abstractmethod
    def put_file(self, key: str, source: Path, content_type: str) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def signed_url(self, key: str, ttl_seconds: int | None = None) -> str: ...

    @abstractmethod
    def key_from_url(self, url: str) -> str | None:
        """The key behind one of our own URLs (validity checked), or None for a foreign URL."""

    @abstractmethod
    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """A readable local path for the object, valid inside the `with` block."""


class LocalStorage(Storage):
    """Files under one directory; the ingress serves them behind HMAC-signed, expiring URLs."""

    def __init__(self, root: Path, secret: bytes, base_url: str, ttl_seconds: int) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.ttl_seconds = ttl_seconds

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise NotFound("no such file")
        return path

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
        partial.replace(target)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_url(self, key: str, ttl_seconds: int | None = None) -> str:
        expires = int(time.time()) + (ttl_seconds or self.ttl_seconds)
        query = f"expires={expires}&signature={self._signature(key, expires)}"
        return f"{self.base_url}{FILES_ROUTE}{quote(key)}?{query}"

    def verify(self, key: str, expires: str, signature: str) -> Path:
        """The file a signed URL names; refuses bad or expired signatures and missing files."""
        if not expires.isdigit() or int(expires) < time.time():
            raise InvalidSignature("this file link has expired or is malformed")
        if not hmac.compare_digest(self._signature(key, int(expires)), signature):
            raise InvalidSignature("this file link's signature is not valid")
        path = self.path(key)
        if not path.is_file():
            raise NotFound("no such file")
        return path

    def key_from_url(self, url: str) -> str | None:
        parts = urlsplit(url)
        base = urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        if not parts.path.startswith(FILES_ROUTE):
            return None
        key = unquote(parts.path[len(FILES_ROUTE) :])
        query = parse_qs(parts.query)
        self.verify(key, query.get("expires", [""])[0], query.get("signature", [""])[0])
        return key

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise NotFound(f"no stored object {key}")
        yield path


class S3Storage(Storage):
    """An S3 bucket (or any S3-compatible store); callers get presigned GET URLs."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None, region: str,
                 ttl_seconds: int) -> None:
        import boto3
        from botocore.config import Config

        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region,
                                   config=Config(signature_version="s3v4"))
        self.bucket = bucket
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        self.client.upload_file(
            str(source), self.bucket, self.prefix + key, ExtraArgs={"ContentType": content_type}
        )

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
            return True
        except ClientError:
            return False

    def signed_url(self, key: str, ttl_seconds: int | None = None) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.prefix + key},
            ExpiresIn=ttl_seconds or self.ttl_seconds,
        )

    def key_from_url(self, url: str) -> str | None:
        ours = urlsplit(self.signed_url("_"))
        parts = urlsplit(url)
        key_root = unquote(ours.path)[: -len("_")]  # "/bucket/prefix/" or "/prefix/"
        path = unquote(parts.path)
        if (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc) or not path.startswith(key_root):
            return None
        key = path[len(key_root) :]
        return key if self.exists(key) else None

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="reelserve-") as tmp:
            path = Path(tmp) / Path(key).name
            self.client.download_file(self.bucket, self.prefix + key, str(path))
            yield path


def make_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        assert settings.s3_bucket, "REELSERVE_S3_BUCKET is required for the s3 backend"
        return S3Storage(
            settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url,
            settings.s3_region, settings.file_url_ttl_seconds,
        )
    return LocalStorage(
        settings.storage_dir, settings.signing_secret.get_secret_value().encode(),
        settings.public_base_url, settings.file_url_ttl_seconds,
    )


@lru_cache
def get_storage() -> Storage:
    return make_storage(get_settings())
