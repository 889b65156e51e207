"""The API fuzz (issue 13 item 6): schemathesis over the running service's `/openapi.json`,
every check, its coverage, fuzzing and stateful phases (the stateful phase chains a submission
to `get_job`, `cancel_job` and `job_events` through the links the 202 answers declare).

Submissions are real jobs: their made-up URLs fail fast with `input_unreachable`. The caller's
limits are raised first (`reelserve-admin limits set`) so that 429s do not hide everything else;
429 stays documented and accepted.

    scripts/serve
    .venv/bin/python bench/fuzz.py --max-examples 100 --seconds 900
    scripts/serve stop
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("REELSERVE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("REELSERVE_API_KEY"))
    parser.add_argument("--max-examples", type=int, default=100, help="Cases per operation and phase.")
    parser.add_argument("--seconds", type=int, default=900, help="Stop the run after this long.")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    key = args.key or (ROOT / ".reelserve/dev_api_key").read_text().strip()
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "reelserve-admin"), "limits", "set", "--owner", "dev",
                    "--submissions-per-minute", "100000", "--active", "100000"], check=False)
    command = [str(bin_dir / "schemathesis"), "--config-file", str(ROOT / "schemathesis.toml"),
               "run", f"{args.url}/openapi.json",
               "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
               "--max-examples", str(args.max_examples), "--workers", str(args.workers),
               "--header", f"Authorization: Bearer {key}", "--continue-on-failure",
               "--generation-deterministic", "--report", "junit",
               "--report-dir", str(ROOT / ".reelserve/fuzz")]
    print(" ".join(c if "Bearer" not in c else "Authorization: Bearer ***" for c in command))
    started = time.monotonic()
    try:
        done = subprocess.run(command, timeout=args.seconds, check=False)
    except subprocess.TimeoutExpired:
        print(f"stopped after {args.seconds} s")
        return 1
    print(f"took {time.monotonic() - started:.0f} s")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
