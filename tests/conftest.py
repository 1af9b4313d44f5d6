"""Shared fixtures: the real corpus and index copied to a temporary folder (tests never touch the
repository's own), the real bot (real model, real FAISS), and a deterministic fake embedder for
tests that are about something other than embeddings."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "seed" / "000_d856c9935c47d7f5.txt"


class FakeEmbedder:
    """Hashed bag of words -> unit vectors. Deterministic and instant; knows nothing of meaning."""

    model = "fake-hash-64"
    whole_words: frozenset[str] = frozenset()  # reads every word as pieces: misspelt names get spelled right

    def __init__(self, dimension: int = 64):
        self._dimension = dimension
        self.calls: list[int] = []

    def warm_up(self):
        return self

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts, progress: bool = False):
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self._dimension] += 1.0
            out[row] /= max(np.linalg.norm(out[row]), 1e-9)
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the shipped corpus and index."""
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus", ignore=shutil.ignore_patterns("seed"))
    shutil.copytree(ROOT / "index", tmp_path / "index")
    return tmp_path


def make_settings(root: Path, model: str = "builtin:all-MiniLM-L6-v2", rebuild: str = "auto"):
    from qa.settings import Settings

    return Settings(corpus_dir=root / "corpus", index_dir=root / "index", model=model,
                    feedback_log=root / "feedback" / "feedback.jsonl", rebuild=rebuild)


@pytest.fixture(scope="session")
def real_embedder():
    from qa.embed import Embedder

    return Embedder().warm_up()


@pytest.fixture(scope="session")
def bot(tmp_path_factory, real_embedder):
    """The real bot over the shipped glossary and its committed index (nothing re-embedded)."""
    from qa.bot import Bot

    root = tmp_path_factory.mktemp("bot")
    shutil.copytree(ROOT / "corpus", root / "corpus", ignore=shutil.ignore_patterns("seed"))
    shutil.copytree(ROOT / "index", root / "index")
    return Bot.load(make_settings(root, rebuild="never"), embedder=real_embedder)
