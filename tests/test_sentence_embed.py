"""MiniLM sentence vectors: deterministic, unit length, 384 floats, paraphrases close, big batches as .npy."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from deployments.sentence_embed import SentenceEmbedEngine
from reelcore.capabilities.embedding import EmbedRequest
from reelcore.engine import Call, Unavailable

SENTENCES = ["The train leaves at half past nine", "Our train departs at 9:30",
             "She bought bread at the market"]


@pytest.fixture(scope="module")
def engine() -> SentenceEmbedEngine:
    found = SentenceEmbedEngine()
    found.load()
    return found


def embed(engine: SentenceEmbedEngine, tmp_path, texts: list[str], **kwargs):
    reports: list[float] = []
    result = engine.embed(EmbedRequest(texts=texts, **kwargs), Call(reports.append, tmp_path))
    assert reports and reports[-1] == 1.0
    return result


def test_vectors_are_deterministic_unit_length_and_384_wide(engine, tmp_path) -> None:
    first = embed(engine, tmp_path, SENTENCES)
    again = embed(engine, tmp_path, SENTENCES)
    assert first.model == "all-MiniLM-L6-v2" and first.dimension == 384 and first.file is None
    assert first.vectors == again.vectors
    vectors = np.array(first.vectors)
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert all(v == round(v, 6) for v in first.vectors[0])
    assert engine.describe()["dimension"] == 384 and engine.describe()["model"] == "all-MiniLM-L6-v2"


def test_paraphrases_are_closer_than_unrelated_sentences(engine, tmp_path) -> None:
    train, departs, bread = np.array(embed(engine, tmp_path, SENTENCES).vectors)
    assert train @ departs > 0.5 > 0.2 > max(train @ bread, departs @ bread)


def test_a_text_embeds_the_same_alone_or_in_a_batch(engine, tmp_path) -> None:
    alone = np.array(embed(engine, tmp_path, [SENTENCES[1]]).vectors[0])
    batched = np.array(embed(engine, tmp_path, SENTENCES).vectors[1])
    assert np.allclose(alone, batched, atol=1e-5)


def test_a_large_batch_comes_back_as_an_npy_file_of_the_same_vectors(engine, tmp_path, monkeypatch) -> None:
    texts = [*SENTENCES, "A dog runs along the beach"]
    inline = embed(engine, tmp_path, texts)
    assert inline.file is None and len(inline.vectors) == 4
    monkeypatch.setattr(engine.config, "file_threshold", 3 * 384)  # 4 texts x 384 floats: over it
    big = embed(engine, tmp_path, texts)
    assert big.vectors == [] and big.dimension == 384 and big.model == inline.model
    assert big.file is not None and big.file.content_type == "application/octet-stream"
    assert big.file.path.parent == tmp_path and big.file.path.suffix == ".npy"
    loaded = np.load(big.file.path)
    assert loaded.dtype == np.float32 and loaded.shape == (4, 384)
    assert np.array_equal(loaded, np.array(inline.vectors, dtype=np.float32))
    assert np.allclose(loaded, np.array(inline.vectors), atol=1e-7)


def test_requests_are_bounded() -> None:
    with pytest.raises(ValidationError):
        EmbedRequest(texts=[])
    with pytest.raises(ValidationError):
        EmbedRequest(texts=["x" * 10_001])
    with pytest.raises(ValidationError):
        EmbedRequest(texts=["a"], kind="document")
    assert EmbedRequest(texts=["a"]).kind == "passage"


def test_a_missing_model_folder_is_unavailable(tmp_path) -> None:
    with pytest.raises(Unavailable, match="no sentence-transformers model"):
        SentenceEmbedEngine(model_path=str(tmp_path / "nowhere")).load()
