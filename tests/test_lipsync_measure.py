"""The lip-sync measure that will judge lipsync and avatar outputs (validated on real footage
by bench/validate_lipsync_measure.py): here, on rights-clean fixtures, a frozen photo with
speech, the classic fake, is found and fails it."""

from __future__ import annotations

import numpy as np

from tests.conftest import STORY
from tests.lipsync_measure import mouth_shapes, speech_activity, sync_score
from tests.media import speech, talking_video


def test_a_frozen_photo_with_speech_fails_the_measure(tmp_path) -> None:
    audio = speech(" ".join(STORY[:3]), tmp_path / "story.wav")
    video = talking_video(tmp_path / "frozen.mp4", audio, size=256)
    times, shapes = mouth_shapes(video, work_height=256)
    assert not np.isnan(shapes[:, 0]).any(), "the astronaut's face is found in every frame"
    activity = speech_activity(audio)
    assert len(activity.pauses) >= 2, "espeak's sentence breaks are pauses"
    score = sync_score(times, shapes, activity)
    assert not score.passed
    assert "lips still in speech" in score.reason
