"""What a schema-driven fuzzer (schemathesis, `bench/fuzz.py`) relies on (issue 13 item 6): the
OpenAPI states every status the API answers, the cross-field rules the models enforce, and the
links from a submission to its job; unknown methods get 405 with `Allow`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from reelcore.schemas import AnalyzeRequest, AvatarRequest, SearchRequest

URL = "https://media.example.com/a.mp4"
FUZZ_EXAMPLES = 8
"""Cases per operation in the suite's bounded fuzz (about 25 operations)."""
SAME_VERDICT = [  # model, body: the JSON Schema and the model must agree on each
    (AvatarRequest, {"image_url": URL, "audio_url": URL}),
    (AvatarRequest, {"image_url": URL, "text": "hi", "voice_id": "v"}),
    (AvatarRequest, {"image_url": URL}),
    (AvatarRequest, {"image_url": URL, "text": "hi"}),
    (AvatarRequest, {"image_url": URL, "audio_url": None, "text": "hi", "voice_id": None}),
    (AvatarRequest, {"image_url": URL, "audio_url": URL, "text": "hi", "voice_id": "v"}),
    (AnalyzeRequest, {"video_url": URL, "tasks": ["transcribe"]}),
    (AnalyzeRequest, {"video_url": URL, "tasks": ["qa"], "question": "why?"}),
    (AnalyzeRequest, {"video_url": URL, "tasks": ["qa"]}),
    (AnalyzeRequest, {"video_url": URL, "tasks": ["qa"], "question": None}),
    (AnalyzeRequest, {"video_url": URL, "tasks": ["qa"], "question": "   "}),
    (AnalyzeRequest, {"video_url": URL, "tasks": ["scenes"], "question": "why?"}),
    (AnalyzeRequest, {"video_url": URL, "tasks": ["scenes", "scenes"]}),
    (SearchRequest, {"query": "  "}),
    (SearchRequest, {"query": "trains"}),
]


@pytest.mark.parametrize(("model", "body"), SAME_VERDICT)
def test_the_schema_states_the_models_cross_field_rules(model: type[BaseModel], body: dict) -> None:
    try:
        model.model_validate(body)
        accepted = True
    except ValidationError:
        accepted = False
    schema_ok = jsonschema.Draft202012Validator(model.model_json_schema()).is_valid(body)
    assert schema_ok == accepted


@pytest.fixture(scope="module")
def spec() -> dict:
    from serve_app.ingress import app

    return app.openapi()


def test_every_status_the_api_answers_is_documented(spec: dict) -> None:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            documented = operation["responses"].keys()
            assert "503" in documented, (method, path)  # the job store away
            if path.startswith("/v1/") and not path.startswith("/v1/files"):
                assert "401" in documented, (method, path)
    upload = spec["paths"]["/v1/uploads"]["post"]["responses"]
    assert upload.keys() >= {"413", "415", "422"}
    for operation in ("generate", "avatar", "lipsync", "dub", "analyze"):
        assert spec["paths"][f"/v1/video/{operation}"]["post"]["responses"].keys() >= {"202", "409", "429"}


def test_submissions_link_to_their_job(spec: dict) -> None:
    links = spec["paths"]["/v1/video/analyze"]["post"]["responses"]["202"]["links"]
    assert {link["operationId"] for link in links.values()} == {"get_job", "cancel_job", "job_events"}
    assert all(link["parameters"] == {"job_id": "$response.body#/id"} for link in links.values())


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("TRACE", "/v1/video/analyze", "POST"),
    ("PUT", "/v1/video/vj_01ARZ3NDEKTSV4RRFFQ69G5FAV", "GET"),
    ("DELETE", "/v1/uploads", "POST"),
    ("PATCH", "/v1/collections", "GET, POST"),  # two routes on one path: both named
])
def test_unknown_methods_get_405_with_allow(service, method: str, path: str, allowed: str) -> None:
    response = httpx.request(method, f"{service.base_url}{path}")
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_bounded_fuzz_gets_documented_answers(service, make_owner, tmp_path) -> None:
    """schemathesis through the real service, every check, its coverage, fuzzing and stateful
    phases, `FUZZ_EXAMPLES` cases per operation and phase: no 500, every status, header and body
    as documented, schema-valid bodies accepted, invalid ones refused. The large run is
    `bench/fuzz.py`. Its own owner: the fuzz stores provider keys and makes jobs."""
    fuzzer = make_owner("fuzzer")
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file",
               str(Path(__file__).parents[1] / "schemathesis.toml"), "run", f"{service.base_url}/openapi.json",
               "--checks", "all", "--phases", "coverage,fuzzing,stateful",
               "--max-examples", str(FUZZ_EXAMPLES), "--generation-deterministic",
               "--header", f"Authorization: Bearer {fuzzer.api_key}", "--continue-on-failure",
               "--no-color", "--report", "junit", "--report-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-12_000:] + done.stderr[-2_000:]
