"""The client installs alone: the project's wheel, installed without the `server` extra in a
clean virtual environment, runs the SDK and the CLI against the service and loads no server
package (neither ours nor Ray, Redis or FastAPI)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from tests.conftest import Owner, Service

ROOT = Path(__file__).resolve().parent.parent

SDK_RUN = """
import json, sys
from reelserve import Client, ReelserveError
from reelcore.errors import NotFound

base_url, api_key, path = sys.argv[1:]
with Client(base_url, api_key) as client:
    uploaded = client.upload(path)
    try:
        client.get_job("vj_missing")
        raise SystemExit("a missing job was found")
    except NotFound:
        pass
    import reelserve.cli  # noqa: F401 - the CLI's imports count too
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"url": uploaded.url, "loaded": loaded}))
"""

SERVER_PACKAGES = {"serve_app", "deployments", "graphs", "ray", "redis", "fastapi", "av", "numpy"}


def run(*args: str | Path, timeout: float = 300) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_client_wheel_installs_alone_and_talks_to_the_service(
    service: Service, alice: Owner, media: Path, tmp_path: Path
) -> None:
    # Built from a copy: setuptools keeps a build/ folder whose stale files would ride along.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".*", "build", "dist", "*.egg-info", "__pycache__", "tests"))
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", wheels, source)
    (wheel,) = wheels.glob("reelserve-*.whl")
    venv.create(tmp_path / "client", with_pip=True)
    bin_dir = tmp_path / "client" / "bin"
    run(bin_dir / "pip", "install", "-q", wheel)

    found = json.loads(run(bin_dir / "python", "-c", SDK_RUN, service.base_url, alice.api_key,
                           media / "sentence.mp4"))
    assert found["url"].startswith(service.base_url)
    assert not SERVER_PACKAGES & set(found["loaded"]), found["loaded"]

    cli = (bin_dir / "reelserve", "--url", service.base_url, "--api-key", alice.api_key)
    assert json.loads(run(*cli, "upload", media / "sentence.mp4"))["url"].startswith(service.base_url)
    assert "analyze" in run(*cli, "providers")
