"""The embed stage: the onnx path (ONNX Runtime for a lone question, OpenVINO for more) gives the
reference (sentence-transformers, torch) vectors, for single questions, small batches and a whole
corpus alike, from any number of threads."""
from __future__ import annotations

import numpy as np
import pytest

from qa.chunk import chunk_entries
from qa.embed import Embedder, shares
from qa.errors import ModelError
from qa.ingest import load_corpus

from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def texts():
    chunks = chunk_entries(load_corpus(ROOT / "corpus").entries)
    return [c.embed_text for c in chunks] + ["what fixes overfitting?", "dropuot", "", "🤖 " * 300, "x" * 5000]


def test_a_batch_is_shared_evenly_over_the_streams():
    """No stream idles while another works: requests as even as can be, as many for each stream,
    none over the most rows asked for, none empty."""
    assert shares(20, 8, 2) == [5, 5, 5, 5]
    assert shares(8, 8, 2) == [4, 4]
    assert shares(0, 8, 2) == []
    for streams in (1, 2, 4):
        for count in range(1, 300):
            for most in (8, 64):
                sizes = shares(count, most, streams)
                assert sum(sizes) == count and min(sizes) >= 1 and max(sizes) <= most, (count, most, sizes)
                assert max(sizes) - min(sizes) <= 1, (count, most, sizes)
                assert len(sizes) % streams == 0 or len(sizes) == count, (count, most, sizes)
                assert len(sizes) < -(-count // most) + streams, (count, most, sizes)  # no more requests than needed


def test_onnx_and_torch_give_the_same_vectors(texts):
    fast, torch = Embedder(backend="onnx"), Embedder(backend="torch")
    assert (fast.backend, torch.backend) == ("onnx", "torch")
    assert len(texts) > fast.batch_size  # the corpus path (requests in flight together)
    a, b = fast.encode(texts), torch.encode(texts)
    assert a.shape == b.shape == (len(texts), 384)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() >= 0.9999, cosine.min()
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    # the question paths give the same vectors: alone (ONNX Runtime), a few (OpenVINO's latency
    # compilation), a batch of waiting questions (its throughput one)
    single = np.vstack([fast.encode([t]) for t in texts[:20]])
    few = np.vstack([fast.encode(texts[i : i + 4]) for i in range(0, 20, 4)])
    batch = fast.encode(texts[:20])
    for vectors in (single, few, batch):
        assert (vectors * b[:20]).sum(axis=1).min() >= 0.9999


def test_onnx_encodes_from_many_threads_at_once(texts):
    """Single questions, small batches and corpus-sized calls at once, as a busy app and a build
    would make them: every text gets its own vector."""
    from concurrent.futures import ThreadPoolExecutor

    fast = Embedder(backend="onnx")
    expected = fast.encode(texts[:40])
    sizes = [1, 3, 8, 17, 40, 90]  # below and above the small/bulk boundary, and a corpus call

    def call(i: int) -> tuple[int, np.ndarray]:
        start = i % 40
        size = sizes[i % len(sizes)]
        return start, fast.encode([texts[(start + j) % 40] for j in range(size)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(48)))
    for start, vectors in results:
        for j, vector in enumerate(vectors):
            assert float(vector @ expected[(start + j) % 40]) >= 0.9999, (start, j)


def test_auto_picks_onnx_for_the_builtin_model_and_reuses_the_export(tmp_path):
    first = Embedder(cache_dir=tmp_path).warm_up()
    assert first.backend == "onnx"
    exported = list(tmp_path.rglob("model.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    Embedder(cache_dir=tmp_path).warm_up()
    assert exported[0].stat().st_mtime_ns == stamp  # not exported again
    assert first._backend.lone_graph.name.startswith("model-fused-ort")  # a lone question: the fused graph


def test_a_graph_that_cannot_be_fused_leaves_the_plain_one_serving(tmp_path, monkeypatch, texts):
    """If ONNX Runtime's optimizer fails on a model, a lone question runs on the plain export (same
    vectors), and the failure is recorded so that later starts do not try again; a damaged fused
    file also leaves the plain export serving."""
    import shutil
    from pathlib import Path

    from onnxruntime.transformers import optimizer

    from qa.embed import _OnnxBackend, default_cache_dir, resolve_model

    folder = Path(resolve_model(Embedder().model))
    reference = Embedder().warm_up()  # the default cache holds the export
    plain = default_cache_dir() / "onnx" / _OnnxBackend.fingerprint(folder) / "model.onnx"
    copy = tmp_path / "onnx" / plain.parent.name / "model.onnx"
    copy.parent.mkdir(parents=True)
    shutil.copy(plain, copy)

    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("no fusion for this graph")

    monkeypatch.setattr(optimizer, "optimize_model", broken)
    fallback = Embedder(cache_dir=tmp_path).warm_up()
    assert fallback._backend.lone_graph == copy
    assert [p.suffix for p in copy.parent.glob("model-fused*")] == [".skip"]
    Embedder(cache_dir=tmp_path).warm_up()
    assert len(calls) == 1  # recorded: a later start does not try again
    skip = next(copy.parent.glob("model-fused*.skip"))
    skip.unlink()
    skip.with_suffix(".onnx").write_bytes(b"not a graph")  # a damaged fused file: the plain graph serves
    damaged = Embedder(cache_dir=tmp_path).warm_up()
    assert damaged._backend.lone_graph == copy and len(calls) == 1
    for text in texts[-5:]:
        for embedder in (fallback, damaged):
            assert float(embedder.encode([text])[0] @ reference.encode([text])[0]) >= 0.9999


def test_bad_model_settings_are_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="not one of"):
        Embedder(backend="gpu")
    with pytest.raises(ModelError, match="empty"):
        Embedder(model=" ")
    with pytest.raises(ModelError, match="onnx backend needs a local model folder"):
        Embedder(model="no-such-org/no-such-model", backend="onnx").warm_up()
    with pytest.raises(ModelError, match="onnx backend needs a local model folder"):  # its earlier name
        Embedder(model="no-such-org/no-such-model", backend="openvino").warm_up()
    with pytest.raises(ModelError, match="cannot load embedding model 'no-such-org/no-such-model'"):
        Embedder(model="no-such-org/no-such-model").warm_up()  # offline: no hub to fetch it from
    (tmp_path / "broken").mkdir()
    with pytest.raises(ModelError, match="cannot load embedding model"):
        Embedder(model=str(tmp_path / "broken")).warm_up()


def test_the_words_the_model_reads_whole_are_its_tokenizers_words_not_pieces():
    words = Embedder().whole_words
    assert {"baking", "convert", "learning", "neural"} <= words
    assert not {"nueral", "lerning", "componant", "##ing"} & words
