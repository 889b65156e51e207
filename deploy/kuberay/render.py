"""Copy configs/gpu.yaml into the RayService's serveConfigV2, so the Serve config has one source.

    python deploy/kuberay/render.py           # rewrite deploy/kuberay/rayservice.yaml in place
    python deploy/kuberay/render.py --check   # exit 1 if it is stale (tests/test_deploy_manifests.py)

The config goes in verbatim, comments included, as a YAML literal block: what `serve deploy
configs/gpu.yaml` deploys on a VM cluster is, byte for byte, what KubeRay deploys. Only the
block under `serveConfigV2: |` is replaced; the rest of the manifest is written by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVE_CONFIG = ROOT / "configs" / "gpu.yaml"
MANIFEST = ROOT / "deploy" / "kuberay" / "rayservice.yaml"
KEY = "  serveConfigV2: |"
INDENT = " " * 4


def render(manifest: str, serve_config: str) -> str:
    """The manifest with its serveConfigV2 block replaced by `serve_config`."""
    lines = manifest.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip("\n") == KEY) + 1
    end = start
    # The block runs while lines are blank or indented deeper than the key.
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(INDENT)):
        end += 1
    block = [INDENT + line if line.strip() else "\n" for line in serve_config.splitlines(keepends=True)]
    return "".join(lines[:start] + block + lines[end:])


def main(argv: list[str]) -> int:
    current = MANIFEST.read_text()
    wanted = render(current, SERVE_CONFIG.read_text())
    if "--check" in argv:
        if current != wanted:
            print(f"{MANIFEST.relative_to(ROOT)} is stale: run python deploy/kuberay/render.py")
            return 1
        return 0
    MANIFEST.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
