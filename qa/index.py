"""Chunks + vectors -> a FAISS index persisted as plain data, and back.

Layout of the index folder:
- `manifest.json`: model, dimension, counts, corpus hash, per-file hashes, index type, versions,
  and the names and sha256 of the two data files it belongs to;
- `chunks-<hash>.faiss`: the FAISS index (inner product over unit vectors);
- `chunks-<hash>.jsonl`: the chunk table, one chunk a line, in FAISS id order.

Writing is atomic: the data files get new names, the manifest is replaced last by a rename, and
only then are the old data files removed. A build that dies half-way leaves the old manifest
pointing at the old files. Nothing is pickled."""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import faiss
import numpy as np
from pydantic import ValidationError

from .errors import CorruptIndexError, MissingIndexError, StaleIndexError
from .ingest import Corpus
from .types import Chunk, IndexManifest, content_hash

MANIFEST = "manifest.json"
FORMAT = 1
# Up to this many vectors an exact (flat) search is fast enough; above it, IVF.
EXACT_LIMIT = 50_000
REFINE_FACTOR = 2  # an IVF search re-scores this many times k candidates on the exact vectors


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"faiss": faiss.__version__}
    for package in ("qa-glossary", "sentence-transformers"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def choose_index(dimension: int, count: int) -> tuple[str, faiss.Index]:
    """The index type for a corpus size: exact below EXACT_LIMIT; above it IVF over 8-bit
    scalar-quantized vectors, whose best candidates are re-scored on the exact vectors (trained
    later). At 1M generated chunks, beside IVF over the float vectors with the same lists and
    probes: recall@10 0.970 for both, single-query search 1.09 against 1.72 ms (the scan reads
    a quarter of the bytes), 1,948 against 1,550 bytes a vector."""
    if count <= EXACT_LIMIT:
        return "Flat", faiss.IndexFlatIP(dimension)
    nlist = int(min(max(4 * np.sqrt(count), 256), 8192))
    name = f"IVF{nlist},SQ8,RFlat"
    index = faiss.index_factory(dimension, name, faiss.METRIC_INNER_PRODUCT)  # an IndexRefineFlat
    index.k_factor = REFINE_FACTOR
    return name, index


def prepare(index: faiss.Index) -> None:
    """Search settings for an IVF index (probes), and a direct map so vectors can be read back."""
    ivf = faiss.try_extract_index_ivf(index)  # None for an exact index
    if ivf is not None:
        ivf.nprobe = max(24, ivf.nlist // 128)  # recall@10 >= 0.95 from 100k to 1M chunks (benchmarks/)
        ivf.make_direct_map()


@dataclass
class VectorIndex:
    manifest: IndexManifest
    chunks: list[Chunk]
    faiss: faiss.Index

    def vectors_for(self, positions: "list[int] | np.ndarray") -> np.ndarray:
        if len(positions) == 0:
            return np.zeros((0, self.manifest.dimension), np.float32)
        return self.faiss.reconstruct_batch(np.asarray(positions, dtype=np.int64))

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.faiss.ntotal)
        # One question searches few vectors: FAISS's thread pool costs more than it saves there and
        # competes with the encoder's threads (measured 20 ms -> 6 ms at 20k chunks).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self.faiss.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        finally:
            faiss.omp_set_num_threads(threads)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with tmp_path.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def build_index(
    corpus: Corpus,
    chunks: list[Chunk],
    encode: Callable[[list[str]], np.ndarray],
    model: str,
    dimension: int,
    index_dir: Path,
    reuse: dict[str, np.ndarray] | None = None,
) -> VectorIndex:
    """Embed what is new, build the FAISS index, persist it atomically. `reuse` maps chunk id ->
    vector from a previous index, so unchanged text is never embedded twice."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time: each removes the files of the last
        try:
            return _build_index(corpus, chunks, encode, model, dimension, index_dir, reuse)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_index(corpus, chunks, encode, model, dimension, index_dir: Path, reuse) -> VectorIndex:
    reuse = reuse or {}
    todo = [c for c in chunks if c.id not in reuse]
    fresh = encode([c.embed_text for c in todo]) if todo else np.zeros((0, dimension), np.float32)
    by_id = dict(reuse)
    by_id.update({c.id: v for c, v in zip(todo, fresh)})
    vectors = np.vstack([by_id[c.id] for c in chunks]).astype(np.float32) if chunks else np.zeros((0, dimension), np.float32)
    if vectors.shape[1] != dimension:
        raise CorruptIndexError(f"model {model!r} gave {vectors.shape[1]}-d vectors, expected {dimension}")

    index_type, index = choose_index(dimension, len(chunks))
    if not index.is_trained:
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(len(vectors), size=min(len(vectors), 100 * faiss.extract_index_ivf(index).nlist), replace=False)]
        index.train(sample)
    index.add(vectors)

    stamp = content_hash(corpus.hash, model, *(c.id for c in chunks), length=12)
    faiss_name, chunks_name = f"chunks-{stamp}.faiss", f"chunks-{stamp}.jsonl"
    faiss_path, chunks_path = index_dir / faiss_name, index_dir / chunks_name
    _atomic_write(faiss_path, lambda p: faiss.write_index(index, str(p)))
    _atomic_write(chunks_path, lambda p: p.write_text("".join(c.model_dump_json() + "\n" for c in chunks), encoding="utf-8"))
    manifest = IndexManifest(
        format=FORMAT,
        model=model,
        dimension=dimension,
        chunk_count=len(chunks),
        entry_count=len(corpus.entries),
        corpus_hash=corpus.hash,
        corpus_files=corpus.files,
        index_type=index_type,
        faiss_file=faiss_name,
        chunks_file=chunks_name,
        faiss_sha256=_sha256(faiss_path),
        chunks_sha256=_sha256(chunks_path),
        versions=_versions(),
        built_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    _atomic_write(index_dir / MANIFEST, lambda p: p.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8"))
    # Only now is the previous index unreachable: remove its data files (and leftovers of dead builds).
    for stale in index_dir.glob("chunks-*"):
        if stale.name not in (faiss_name, chunks_name):
            stale.unlink(missing_ok=True)
    for leftover in index_dir.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    prepare(index)
    return VectorIndex(manifest=manifest, chunks=chunks, faiss=index)


def read_manifest(index_dir: Path) -> IndexManifest:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise MissingIndexError(f"no index in {index_dir} (manifest.json missing): run `qa build`")
    try:
        manifest = IndexManifest.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        raise CorruptIndexError(f"index manifest {path} is unreadable ({str(exc).splitlines()[0]}): run `qa build`") from None
    if manifest.format != FORMAT:
        raise StaleIndexError(f"index format {manifest.format} is not the supported {FORMAT}: run `qa build`")
    return manifest


def staleness(manifest: IndexManifest, corpus_files: dict[str, str], model: str) -> str | None:
    """Why this index does not match the corpus and model, or None when it does."""
    if manifest.model != model:
        return f"the index was built with model {manifest.model!r}, the setting is {model!r}"
    if manifest.corpus_files != corpus_files:
        added = sorted(set(corpus_files) - set(manifest.corpus_files))
        removed = sorted(set(manifest.corpus_files) - set(corpus_files))
        changed = sorted(f for f in set(corpus_files) & set(manifest.corpus_files) if corpus_files[f] != manifest.corpus_files[f])
        parts = [f"{label}: {', '.join(names)}" for label, names in (("added", added), ("removed", removed), ("changed", changed)) if names]
        return "the corpus changed since the index was built (" + "; ".join(parts) + ")"
    return None


def load_index(index_dir: Path, manifest: IndexManifest | None = None) -> VectorIndex:
    """Read and verify the index files the manifest names. Raises MissingIndexError or
    CorruptIndexError with the command to run."""
    manifest = manifest or read_manifest(index_dir)
    faiss_path, chunks_path = index_dir / manifest.faiss_file, index_dir / manifest.chunks_file
    for path in (faiss_path, chunks_path):
        if not path.is_file():
            raise MissingIndexError(f"index file {path.name} is missing from {index_dir}: run `qa build`")
    if _sha256(faiss_path) != manifest.faiss_sha256 or _sha256(chunks_path) != manifest.chunks_sha256:
        raise CorruptIndexError(f"index files in {index_dir} do not match their manifest (truncated or edited): run `qa build`")
    try:
        index = faiss.read_index(str(faiss_path))
        chunks = [Chunk.model_validate_json(line) for line in chunks_path.read_text(encoding="utf-8").splitlines() if line]
    except (RuntimeError, ValidationError, ValueError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"index in {index_dir} is unreadable ({str(exc).splitlines()[0]}): run `qa build`") from None
    if index.ntotal != len(chunks) or len(chunks) != manifest.chunk_count or index.d != manifest.dimension:
        raise CorruptIndexError(
            f"index in {index_dir} is inconsistent ({index.ntotal} vectors, {len(chunks)} chunks, manifest says "
            f"{manifest.chunk_count} of dimension {manifest.dimension}): run `qa build`"
        )
    prepare(index)
    return VectorIndex(manifest=manifest, chunks=chunks, faiss=index)


def reusable_vectors(index: VectorIndex) -> dict[str, np.ndarray]:
    """chunk id -> vector, from an index built with the same model."""
    vectors = index.faiss.reconstruct_n(0, index.faiss.ntotal)
    return {chunk.id: vectors[i] for i, chunk in enumerate(index.chunks)}
