"""Question text + vector -> entries ranked by evidence: names (exact and fuzzy), BM25 and dense
sentence-level similarity, fused per entry. Pure ranking over arrays and tables; no model here."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import bm25s
import numpy as np
from rapidfuzz import fuzz, process

from .chunk import names_of
from .index import VectorIndex
from .ingest import normalize_name
from .types import Entry

STOPWORDS = frozenset(
    """a an the of in on for to and or is are was were be been being what whats what's which who whom how why
    when where do does did can could should would will i me my we our you your it its it's this that these those
    they them their there here with without by from as at into about than then so if not no yes any some
    explain define describe tell meaning mean means use used using get make difference between vs versus""".split()
)
_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def _squash(text: str) -> str:
    return text.replace(" ", "")


@dataclass(frozen=True)
class Mention:
    """A span of the question that names an entry."""

    entry: int  # position in the entries list
    start: int  # token positions [start, end)
    end: int
    score: float  # 1.0 exact, lower for fuzzy
    text: str


class NameTable:
    """Every way an entry is named (term, term without its parenthesis, the acronym in it, aliases,
    plural/singular), matched exactly and, for typos, fuzzily. Fuzzy candidates are bucketed by
    first letter so the cost stays small however many entries there are."""

    def __init__(self, entries: list[Entry]):
        self.exact: dict[str, int] = {}
        buckets: dict[str, dict[str, int]] = {}
        for position, entry in enumerate(entries):
            for name in self.variants(entry):
                self.exact.setdefault(name, position)
                self.exact.setdefault(_squash(name), position)
                if len(_squash(name)) >= 5:
                    buckets.setdefault(name[0], {}).setdefault(_squash(name), position)
        self.buckets = {letter: (list(table), list(table.values())) for letter, table in buckets.items()}
        self.longest = max((len(name.split()) for name in self.exact), default=1)

    @staticmethod
    def variants(entry: Entry) -> set[str]:
        names = set()
        for name in names_of(entry):
            base = normalize_name(name)
            names.add(base)
            outer = normalize_name(re.sub(r"\([^)]*\)", " ", name))
            if outer:
                names.add(outer)
            for inner in re.findall(r"\(([^)]*)\)", name):
                if normalize_name(inner):
                    names.add(normalize_name(inner))
        for name in list(names):
            if len(name) > 3:
                names.add(name[:-1] if name.endswith("s") else name + "s")
        return {name for name in names if name and name not in STOPWORDS}

    def mentions(self, words: list[str]) -> list[Mention]:
        """Longest non-overlapping name spans in the tokenized question, exact before fuzzy."""
        found: list[Mention] = []
        covered = [False] * len(words)
        for exact_pass in (True, False):
            for n in range(min(self.longest + 1, len(words)), 0, -1):
                for start in range(0, len(words) - n + 1):
                    if any(covered[start : start + n]):
                        continue
                    gram_words = words[start : start + n]
                    gram = " ".join(gram_words)
                    if exact_pass:
                        position = self.exact.get(gram, self.exact.get(_squash(gram)))
                        score = 1.0
                    else:
                        if gram_words[0] in STOPWORDS or gram_words[-1] in STOPWORDS:
                            continue
                        position, score = self._fuzzy(_squash(gram))
                    if position is None:
                        continue
                    found.append(Mention(position, start, start + n, score, gram))
                    covered[start : start + n] = [True] * n
        return sorted(found, key=lambda m: m.start)

    def _fuzzy(self, squashed: str) -> tuple[int | None, float]:
        if len(squashed) < 5 or squashed[0] not in self.buckets:
            return None, 0.0
        cutoff = 90.0 if len(squashed) < 7 else 85.0 if len(squashed) < 10 else 82.0
        names, positions = self.buckets[squashed[0]]
        best = process.extractOne(squashed, names, scorer=fuzz.ratio, score_cutoff=cutoff)
        if best is None:
            return None, 0.0
        return positions[best[2]], best[1] / 100.0


@dataclass
class EntryEvidence:
    """Why an entry ranks where it does."""

    entry: int
    score: float = 0.0
    dense: float = 0.0
    lexical: float = 0.0
    name: float = 0.0
    chunk_scores: dict[int, float] = field(default_factory=dict)  # chunk position -> similarity


@dataclass
class Weights:
    """Fusion weights and refusal thresholds, calibrated on the dev set (see `qa eval`)."""

    name: float = 0.35
    lexical: float = 0.10
    dense_k: int = 64


class Retriever:
    def __init__(self, entries: list[Entry], index: VectorIndex, weights: Weights | None = None):
        self.entries = entries
        self.index = index
        self.weights = weights or Weights()
        self.names = NameTable(entries)
        position = {entry.id: i for i, entry in enumerate(entries)}
        self.chunk_entry = np.array([position[c.entry_id] for c in index.chunks], dtype=np.int64)
        self.entry_chunks: dict[int, list[int]] = {}
        for chunk_position, entry_position in enumerate(self.chunk_entry):
            self.entry_chunks.setdefault(int(entry_position), []).append(chunk_position)
        documents = [" ".join([e.term, *e.aliases, e.definition]) for e in entries]
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(documents, stopwords="en", show_progress=False), show_progress=False)

    def lexical(self, question: str, k: int) -> dict[int, float]:
        query = bm25s.tokenize([question], stopwords="en", show_progress=False)
        if not query.ids or not len(query.ids[0]):
            return {}
        k = min(k, len(self.entries))
        docs, scores = self.bm25.retrieve(query, k=k, show_progress=False)
        return {int(d): float(s) for d, s in zip(docs[0], scores[0]) if s > 0}

    def rank(self, question: str, vector: np.ndarray, mentions: list[Mention]) -> list[EntryEvidence]:
        weights = self.weights
        sims, ids = self.index.search(vector.reshape(1, -1), weights.dense_k)
        evidence: dict[int, EntryEvidence] = {}
        for sim, chunk_position in zip(sims[0], ids[0]):
            if chunk_position < 0:
                continue
            entry = int(self.chunk_entry[chunk_position])
            item = evidence.setdefault(entry, EntryEvidence(entry))
            item.chunk_scores[int(chunk_position)] = float(sim)
            item.dense = max(item.dense, float(sim))
        lexical = self.lexical(question, 20)
        top_lexical = max(lexical.values(), default=0.0)
        for entry, score in lexical.items():
            evidence.setdefault(entry, EntryEvidence(entry)).lexical = score / top_lexical
        for mention in mentions:
            item = evidence.setdefault(mention.entry, EntryEvidence(mention.entry))
            item.name = max(item.name, mention.score)
        floor = float(sims[0][-1]) if len(sims[0]) else 0.0
        for item in evidence.values():
            if not item.chunk_scores:  # found by name or words only: score its chunks directly
                item.dense = self.entry_similarity(item.entry, vector, item)
                item.dense = max(item.dense, floor) if item.dense else floor
            item.score = item.dense + weights.name * item.name + weights.lexical * item.lexical
        return sorted(evidence.values(), key=lambda e: e.score, reverse=True)

    def entry_similarity(self, entry: int, vector: np.ndarray, item: EntryEvidence | None = None) -> float:
        """Similarity of every chunk of one entry to the question (fills item.chunk_scores)."""
        positions = self.entry_chunks.get(entry, [])
        sims = self.index.vectors_for(positions) @ vector.reshape(-1)
        if item is not None:
            item.chunk_scores.update({p: float(s) for p, s in zip(positions, sims)})
        return float(sims.max()) if len(sims) else 0.0
