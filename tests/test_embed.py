"""The embed stage: the ONNX path gives the reference (sentence-transformers, torch) vectors."""
from __future__ import annotations

import numpy as np
import pytest

from qa.chunk import chunk_entries
from qa.embed import Embedder
from qa.errors import ModelError
from qa.ingest import load_corpus

from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def texts():
    chunks = chunk_entries(load_corpus(ROOT / "corpus").entries)
    return [c.embed_text for c in chunks] + ["what fixes overfitting?", "dropuot", "", "🤖 " * 300, "x" * 5000]


def test_onnx_and_torch_give_the_same_vectors(texts):
    onnx, torch = Embedder(backend="onnx"), Embedder(backend="torch")
    assert (onnx.backend, torch.backend) == ("onnx", "torch")
    a, b = onnx.encode(texts), torch.encode(texts)
    assert a.shape == b.shape == (len(texts), 384)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() >= 0.9999, cosine.min()
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    # batching and length-sorting do not change a text's vector
    single = np.vstack([onnx.encode([t]) for t in texts[:20]])
    assert np.allclose(single, a[:20], atol=1e-5)


def test_auto_picks_onnx_for_the_builtin_model_and_reuses_the_export(tmp_path):
    first = Embedder(cache_dir=tmp_path).warm_up()
    assert first.backend == "onnx"
    exported = list(tmp_path.rglob("model.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    Embedder(cache_dir=tmp_path).warm_up()
    assert exported[0].stat().st_mtime_ns == stamp  # not exported again


def test_bad_model_settings_are_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="not one of"):
        Embedder(backend="gpu")
    with pytest.raises(ModelError, match="empty"):
        Embedder(model=" ")
    with pytest.raises(ModelError, match="needs a local model folder"):
        Embedder(model="no-such-org/no-such-model", backend="onnx").warm_up()
    with pytest.raises(ModelError, match="cannot load embedding model 'no-such-org/no-such-model'"):
        Embedder(model="no-such-org/no-such-model").warm_up()  # offline: no hub to fetch it from
    (tmp_path / "broken").mkdir()
    with pytest.raises(ModelError, match="cannot load embedding model"):
        Embedder(model=str(tmp_path / "broken")).warm_up()
