"""Shots: `scenes(ScenesRequest) -> SceneList`, then `add_speech(DescribeRequest) -> DescribedScenes`
(what is said in each)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from reelcore.engine import Produced
from reelcore.media import MediaRef


class ScenesRequest(BaseModel):
    video: MediaRef
    min_scene_seconds: float = Field(0.5, ge=0, le=60, description="Shorter shots join a neighbour.")
    cut_threshold: float = Field(
        3.0, gt=0, description="AdaptiveDetector: how many times its neighbours' average change a "
                               "frame's change must be to cut (lower finds more cuts).")
    min_content_val: float = Field(
        15.0, ge=0, description="AdaptiveDetector: the least change (HSV and edges, 0-255) a cut needs.")
    fade_threshold: float = Field(
        12.0, ge=0, le=255, description="ThresholdDetector: a frame whose mean 8-bit level is below "
                                        "this is black (fades to and from black).")


class Scene(BaseModel):
    index: int
    start: float
    end: float
    thumbnail: Produced = Field(description="JPEG keyframe from the middle of the shot.")
    description: str
    brightness: float = Field(description="Mean luma, 0-1.")
    colour: str = Field(description="Dominant hue, or grey/black/white, e.g. 'dark blue-grey'.")
    motion: float = Field(description="Mean absolute difference between consecutive frames, 0-1.")
    faces: int = Field(description="Faces seen on the keyframe (at most max_faces).")


class SceneList(BaseModel):
    scenes: list[Scene]
    detector: str
    fps: float


class SceneFacts(BaseModel):
    """A scene as `scenes` returned it: start, end and description are needed, the rest is kept."""

    model_config = ConfigDict(extra="allow")
    start: float
    end: float
    description: str


class SpokenSegment(BaseModel):
    start: float
    end: float
    text: str


class DescribeRequest(BaseModel):
    scenes: list[SceneFacts]
    segments: list[SpokenSegment] = []


class DescribedScene(SceneFacts):
    said: str = Field(description="Transcript text overlapping the scene.")


class DescribedScenes(BaseModel):
    scenes: list[DescribedScene]
