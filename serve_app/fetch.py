"""Outbound HTTP with SSRF protection: input downloads and webhook deliveries.

A URL is refused unless it is http(s) and every address its host resolves to is public, or the
host is in `allowed_hosts` (or `allow_private_urls` is set). Each redirect hop is checked again,
and after connecting the peer address actually used is checked too, so DNS rebinding between
our lookup and the connection is caught before any body is read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from reelcore.errors import InputTooLarge, InputUnreachable
from reelcore.settings import Settings

CHUNK = 1 << 20
TLS = httpx.create_ssl_context()
"""Built once per process: a fresh context per request costs tens of milliseconds of CPU."""


class UrlRefused(InputUnreachable):
    """The URL points somewhere the service must not reach."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _allowed(host: str, port: int, settings: Settings) -> bool:
    host = host.lower()
    return settings.allow_private_urls or any(
        entry.lower() in (host, f"{host}:{port}", f"[{host}]:{port}")
        for entry in settings.allowed_hosts
    )


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(f"only http and https URLs are fetched, not {url[:100]!r}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def guard_url(url: str, settings: Settings) -> None:
    """Refuse URLs whose host resolves to a private, loopback, link-local or reserved address."""
    host, port = _target(url)
    if _allowed(host, port, settings):
        return
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InputUnreachable(f"cannot resolve host {host!r}") from exc
    for *_, sockaddr in infos:
        if not _is_public(sockaddr[0]):
            raise UrlRefused(
                f"refused to reach {host!r}: it resolves to a non-public address",
                {"host": host},
            )


def _check_peer(response: httpx.Response, url: str, settings: Settings) -> None:
    host, port = _target(url)
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer and not _allowed(host, port, settings) and not _is_public(peer[0]):
        raise UrlRefused(f"refused to reach {host!r}: it connected to a non-public address")


async def fetch_to_file(url: str, dest: Path, settings: Settings) -> None:
    """Download `url` into `dest` within the configured size and time limits."""
    try:
        async with asyncio.timeout(settings.fetch_timeout_seconds):
            await _follow(url, dest, settings)
    except TimeoutError as exc:
        raise InputUnreachable(
            f"downloading the input took longer than {settings.fetch_timeout_seconds:g} s"
        ) from exc
    except httpx.HTTPError as exc:
        raise InputUnreachable(f"could not download the input: {type(exc).__name__}") from exc


async def _follow(url: str, dest: Path, settings: Settings) -> None:
    async with httpx.AsyncClient(follow_redirects=False, timeout=30.0, verify=TLS) as client:
        for _ in range(settings.fetch_max_redirects + 1):
            await guard_url(url, settings)
            async with client.stream("GET", url) as response:
                _check_peer(response, url, settings)
                if response.is_redirect:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise InputUnreachable(
                        f"the input URL answered HTTP {response.status_code}",
                        {"status_code": response.status_code},
                    )
                await _save(response, dest, settings.fetch_max_bytes)
                return
    raise InputUnreachable(f"more than {settings.fetch_max_redirects} redirects")


async def _save(response: httpx.Response, dest: Path, limit: int) -> None:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InputTooLarge(f"the input is {int(declared)} bytes; the limit is {limit}")
    size = 0
    with dest.open("wb") as out:
        async for chunk in response.aiter_bytes(CHUNK):
            size += len(chunk)
            if size > limit:
                raise InputTooLarge(f"the input is over the {limit}-byte limit")
            await asyncio.to_thread(out.write, chunk)


async def post_json(url: str, body: str, headers: dict[str, str], settings: Settings) -> int:
    """POST a webhook; returns the status code. The receiver's URL is guarded like inputs."""
    await guard_url(url, settings)
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, verify=TLS) as client:
        response = await client.post(
            url, content=body, headers={"content-type": "application/json", **headers}
        )
        return response.status_code
