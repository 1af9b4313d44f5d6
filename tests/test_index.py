"""The index stage: persisted as plain data, checked on load, rebuilt or refused when stale,
never half-written."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from qa.bot import Bot, build
from qa.errors import CorruptIndexError, MissingIndexError, StaleIndexError
from qa.index import load_index, read_manifest

from conftest import ROOT, FakeEmbedder, make_settings


@pytest.fixture
def fake_root(workdir, fake_embedder):
    """The shipped corpus with an index built by the fake embedder."""
    settings = make_settings(workdir, model=fake_embedder.model)
    build(settings, fake_embedder)
    return workdir


def test_index_is_plain_data_with_a_manifest(fake_root):
    index_dir = fake_root / "index"
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["model"] == "fake-hash-64" and manifest["dimension"] == 64
    assert manifest["entry_count"] == 41 and manifest["chunk_count"] > 41
    assert manifest["index_type"] == "Flat"
    assert set(manifest["corpus_files"]) == {"deep-learning.md"}
    assert {"faiss", "sentence-transformers"} <= set(manifest["versions"])
    files = sorted(p.name for p in index_dir.iterdir() if not p.name.startswith("."))
    assert files == sorted(["manifest.json", manifest["faiss_file"], manifest["chunks_file"]])
    assert manifest["faiss_file"].endswith(".faiss")
    chunks = [json.loads(line) for line in (index_dir / manifest["chunks_file"]).read_text().splitlines()]
    assert len(chunks) == manifest["chunk_count"]
    assert {c["kind"] for c in chunks} == {"sentence", "entry", "asked"}
    assert len({c["id"] for c in chunks}) == len(chunks)  # content hashes


def test_shipped_index_matches_the_shipped_corpus():
    """The committed index is fresh: the app and CLI start without embedding anything."""
    from qa.index import staleness
    from qa.ingest import file_digests
    from qa.settings import BUILTIN_MODEL

    manifest = read_manifest(ROOT / "index")
    assert staleness(manifest, file_digests(ROOT / "corpus"), BUILTIN_MODEL) is None
    load_index(ROOT / "index")


def test_fresh_index_loads_without_embedding(fake_root, fake_embedder):
    fake_embedder.calls.clear()
    bot = Bot.load(make_settings(fake_root, model=fake_embedder.model, rebuild="never"), embedder=fake_embedder)
    assert fake_embedder.calls == []
    assert bot.notices == []


def test_edited_corpus_is_refused_with_never_and_rebuilt_incrementally_with_auto(fake_root, fake_embedder):
    glossary = fake_root / "corpus" / "deep-learning.md"
    glossary.write_text(glossary.read_text().replace("Dropout is a regularization", "Dropout is a popular regularization"))
    with pytest.raises(StaleIndexError, match=r"changed: deep-learning.md.*qa build"):
        Bot.load(make_settings(fake_root, model=fake_embedder.model, rebuild="never"), embedder=fake_embedder)
    fake_embedder.calls.clear()
    bot = Bot.load(make_settings(fake_root, model=fake_embedder.model), embedder=fake_embedder)
    assert "Rebuilding the index" in bot.notices[0]
    assert fake_embedder.calls == [2]  # the changed sentence and its entry chunk, nothing else
    assert any("popular regularization" in c.text for c in bot.vectors.chunks)


def test_new_staff_glossary_is_picked_up(fake_root, fake_embedder):
    (fake_root / "corpus" / "extra.csv").write_text("Epoch,One full pass over the training data.\n")
    bot = Bot.load(make_settings(fake_root, model=fake_embedder.model), embedder=fake_embedder)
    assert "added: extra.csv" in bot.notices[0]
    assert "Epoch" in {e.term for e in bot.entries}


def test_files_the_corpus_does_not_read_are_reported_once(fake_root, fake_embedder, caplog):
    corpus = fake_root / "corpus"
    (corpus / "terms.xlsx").write_bytes(b"PK")
    (corpus / "week2").mkdir()
    (corpus / "week2" / "more.md").write_text("## Epoch\nOne full pass over the training data.\n")
    (corpus / "raw").mkdir()
    (corpus / "raw" / "source.txt").write_text("not a glossary, and not meant as one")
    (corpus / "README.md").write_text("# About these glossaries\n")
    (corpus / ".notes.md").write_text("hidden")
    said: list[str] = []
    bot = Bot.load(make_settings(fake_root, model=fake_embedder.model, rebuild="never"), embedder=fake_embedder,
                   on_notice=said.append)
    assert said == bot.notices and len(said) == 1  # told once: to the caller, not also to the log
    assert "terms.xlsx, week2/ (glossaries are .md, .csv, .tsv, .jsonl files at its top level)" in said[0]
    assert not [r for r in caplog.records if r.name == "qa"]
    assert "Epoch" not in {e.term for e in bot.entries}


def test_other_model_or_dimension_is_stale(fake_root):
    with pytest.raises(StaleIndexError, match="built with model 'fake-hash-64'"):
        Bot.load(make_settings(fake_root, model="other-model", rebuild="never"), embedder=FakeEmbedder())
    narrow = FakeEmbedder(dimension=32)
    narrow.model = "fake-hash-64"
    with pytest.raises(StaleIndexError, match="64-d vectors.*32-d"):
        Bot.load(make_settings(fake_root, model="fake-hash-64", rebuild="never"), embedder=narrow)


def test_missing_manifest_or_file(fake_root, fake_embedder):
    index_dir = fake_root / "index"
    manifest = read_manifest(index_dir)
    (index_dir / manifest.chunks_file).unlink()
    with pytest.raises(MissingIndexError, match=f"{manifest.chunks_file} is missing.*qa build"):
        load_index(index_dir)
    (index_dir / "manifest.json").unlink()
    with pytest.raises(MissingIndexError, match="manifest.json missing"):
        Bot.load(make_settings(fake_root, model=fake_embedder.model, rebuild="never"), embedder=fake_embedder)
    bot = Bot.load(make_settings(fake_root, model=fake_embedder.model), embedder=fake_embedder)
    assert len(bot.entries) == 41 and "Rebuilding" in bot.notices[0]


@pytest.mark.parametrize("damage", ["truncate", "garbage_with_matching_hash", "manifest_not_json", "manifest_wrong_shape"])
def test_corrupt_index_is_detected(fake_root, fake_embedder, damage):
    index_dir = fake_root / "index"
    manifest = read_manifest(index_dir)
    faiss_path = index_dir / manifest.faiss_file
    if damage == "truncate":
        faiss_path.write_bytes(faiss_path.read_bytes()[:100])
    elif damage == "garbage_with_matching_hash":
        import hashlib

        faiss_path.write_bytes(b"\x00garbage" * 50)
        data = json.loads((index_dir / "manifest.json").read_text())
        data["faiss_sha256"] = hashlib.sha256(faiss_path.read_bytes()).hexdigest()
        (index_dir / "manifest.json").write_text(json.dumps(data))
    elif damage == "manifest_not_json":
        (index_dir / "manifest.json").write_text("{not json")
    else:
        (index_dir / "manifest.json").write_text('{"model": 3}')
    with pytest.raises(CorruptIndexError, match="qa build"):
        Bot.load(make_settings(fake_root, model=fake_embedder.model, rebuild="never"), embedder=fake_embedder)
    bot = Bot.load(make_settings(fake_root, model=fake_embedder.model), embedder=fake_embedder)
    assert "Rebuilding" in bot.notices[0]
    assert bot.ask("dropout").citations


def test_a_build_killed_mid_write_leaves_the_previous_index_loadable(tmp_path):
    """SIGKILL a real `qa build` while it writes; the previous index still loads and answers.

    The previous index is labelled with the real model's name but holds fake vectors, so the real
    build reuses them all and spends its time writing a large index: the window to kill it in."""
    from qa.settings import BUILTIN_MODEL

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [f"Term {i},Definition number {i} says thing {i % 97} about topic {i % 13}. It has a second sentence {i}.\n" for i in range(20_000)]
    (corpus / "big.csv").write_text("".join(rows))
    fake = FakeEmbedder(dimension=384)
    settings = make_settings(tmp_path, model=BUILTIN_MODEL)
    build(settings, fake)
    before = read_manifest(tmp_path / "index")
    (corpus / "big.csv").write_text("".join(rows) + "Term new,A new definition.\n")

    env = dict(os.environ, QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(tmp_path / "index"), HF_HUB_OFFLINE="1")
    killed_while_writing = False
    for _attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "qa", "build", "--quiet"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if any(p.name.endswith(".tmp") for p in (tmp_path / "index").iterdir()):
                proc.send_signal(signal.SIGKILL)
                killed_while_writing = True
                break
            time.sleep(0.001)
        proc.wait(timeout=60)
        if killed_while_writing:
            break
        build(settings, fake)  # it finished first: put the old index back and try again
    assert killed_while_writing, "never caught the build writing"
    assert read_manifest(tmp_path / "index") == before
    previous = load_index(tmp_path / "index")  # verifies both files against the manifest's hashes
    assert previous.faiss.ntotal == before.chunk_count
    (corpus / "big.csv").write_text("".join(rows))  # the corpus the previous index was built from
    bot = Bot.load(make_settings(tmp_path, model=BUILTIN_MODEL, rebuild="never"), embedder=fake)
    assert bot.ask("what does Term 17 say?").citations


def test_chunk_table_from_another_version_is_stale(fake_root, fake_embedder):
    """Same corpus bytes, but chunks this version would not make (another parser or chunker)."""
    import hashlib

    index_dir = fake_root / "index"
    manifest = read_manifest(index_dir)
    chunks_path = index_dir / manifest.chunks_file
    lines = chunks_path.read_text().splitlines()
    first = json.loads(lines[0])
    first["id"] = "0" * 16
    chunks_path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    data = json.loads((index_dir / "manifest.json").read_text())
    data["chunks_sha256"] = hashlib.sha256(chunks_path.read_bytes()).hexdigest()
    (index_dir / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(StaleIndexError, match="chunks differ from the corpus"):
        Bot.load(make_settings(fake_root, model=fake_embedder.model, rebuild="never"), embedder=fake_embedder)
    bot = Bot.load(make_settings(fake_root, model=fake_embedder.model), embedder=fake_embedder)
    assert "Rebuilding" in bot.notices[0] and bot.ask("dropout").citations


def test_a_large_corpus_gets_an_ivf_index_that_finds_what_exact_search_finds(tmp_path):
    """Above EXACT_LIMIT the index is IVF over 8-bit vectors with exact re-scoring: it finds
    nearly what exact search finds, reads every vector back exactly (a rebuild reuses them) and
    keeps its settings through a write and a read."""
    import faiss
    import numpy as np

    from qa.index import EXACT_LIMIT, REFINE_FACTOR, choose_index, prepare

    rng = np.random.default_rng(0)
    count, dimension = EXACT_LIMIT + 10_000, 64
    centres = rng.standard_normal((600, dimension)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), count)] + 0.6 * rng.standard_normal((count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    name, index = choose_index(dimension, count)
    assert name.startswith("IVF") and name.endswith(",SQ8,RFlat"), name
    index.train(vectors)
    index.add(vectors)
    faiss.write_index(index, str(tmp_path / "ivf.faiss"))
    index = faiss.read_index(str(tmp_path / "ivf.faiss"))
    prepare(index)
    assert faiss.downcast_index(index).k_factor == REFINE_FACTOR
    assert faiss.extract_index_ivf(index).nprobe >= 24
    positions = rng.choice(count, 50, replace=False)
    assert np.array_equal(index.reconstruct_batch(positions), vectors[positions])  # exact, not the 8-bit copy
    queries = vectors[rng.choice(count, 100, replace=False)] + 0.1 * rng.standard_normal((100, dimension)).astype(np.float32)
    exact = faiss.IndexFlatIP(dimension)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    _, found = index.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)])
    assert recall >= 0.95, recall
