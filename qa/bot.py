"""The front door: `Bot.load()` then `bot.ask(question, history) -> Answer`.

Everything a user can reach (CLI, app, HTTP API, evaluation) goes through here."""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable

import numpy as np

from . import index as index_mod
from .answer import Composer, Policy
from .chunk import chunk_entries
from .embed import Embedder
from .errors import CorruptIndexError, MissingIndexError, QAError, StaleIndexError
from .ingest import Corpus, load_corpus
from .query import clean, define_subject, has_compare_cue, has_pronoun, is_elliptical, substitute
from .retrieve import Retriever, Weights, tokens
from .settings import Settings
from .types import Answer

log = logging.getLogger("qa")
HISTORY_TURNS = 3  # how many earlier questions a follow-up can lean on


def build(settings: Settings, embedder: Embedder | None = None, corpus: Corpus | None = None, progress: bool = False) -> index_mod.VectorIndex:
    """(Re)build the index for the corpus, embedding only chunks the previous index lacks."""
    corpus = corpus or load_corpus(settings.corpus_dir)
    embedder = embedder or Embedder(settings.model)
    chunks = chunk_entries(corpus.entries)
    reuse = {}
    try:
        previous = index_mod.load_index(settings.index_dir)
        if previous.manifest.model == settings.model:
            reuse = index_mod.reusable_vectors(previous)
    except QAError:
        pass  # nothing usable to reuse: embed everything
    return index_mod.build_index(
        corpus, chunks, lambda texts: embedder.encode(texts, progress=progress), settings.model,
        embedder.dimension, settings.index_dir, reuse=reuse,
    )


def user_questions(history: Iterable[Any] | None) -> list[str]:
    """Earlier user questions from a history given as strings, Answers, or chat messages
    ({"role": "user", "content": ...}, content a string or a list of text parts)."""
    out: list[str] = []
    for item in history or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Answer):
            out.append(item.question)
        elif isinstance(item, dict) and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, list):
                content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
            if isinstance(content, str):
                out.append(content)
    return out


class Bot:
    def __init__(self, settings: Settings, corpus: Corpus, vectors: index_mod.VectorIndex, embedder: Embedder,
                 weights: Weights | None = None, policy: Policy | None = None, notices: list[str] | None = None):
        self.settings = settings
        self.corpus = corpus
        self.entries = corpus.entries
        self.vectors = vectors
        self.embedder = embedder
        self.retriever = Retriever(corpus.entries, vectors, weights)
        self.composer = Composer(self.retriever, policy)
        self.notices = notices or []
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings | None = None, embedder: Embedder | None = None, progress: bool = False,
             on_notice: Callable[[str], None] | None = None) -> "Bot":
        """Read the corpus, check the index against it and the model, and get ready to answer.

        A missing, corrupt or stale index is rebuilt when `settings.rebuild == "auto"` (vectors of
        unchanged chunks are reused) and reported through `on_notice`; with "never" it raises."""
        settings = settings or Settings.from_env()
        corpus = load_corpus(settings.corpus_dir)
        embedder = embedder or Embedder(settings.model)
        notices: list[str] = []

        def notice(message: str) -> None:
            notices.append(message)
            log.warning(message)
            if on_notice:
                on_notice(message)

        problem: QAError | None = None
        try:
            manifest = index_mod.read_manifest(settings.index_dir)
            reason = index_mod.staleness(manifest, corpus.files, settings.model)
            if reason:
                raise StaleIndexError(f"{reason}: run `qa build`")
            vectors = index_mod.load_index(settings.index_dir, manifest)
            embedder.warm_up()
            if vectors.manifest.dimension != embedder.dimension:
                raise StaleIndexError(
                    f"the index has {vectors.manifest.dimension}-d vectors, model {settings.model!r} makes {embedder.dimension}-d: run `qa build`"
                )
        except (MissingIndexError, CorruptIndexError, StaleIndexError) as exc:
            problem = exc
        if problem is not None:
            if settings.rebuild != "auto":
                raise problem
            notice(f"Rebuilding the index: {problem}")
            vectors = build(settings, embedder, corpus, progress=progress)
        return cls(settings, corpus, vectors, embedder, notices=notices)

    # --- asking --------------------------------------------------------------------------------

    def encode(self, text: str) -> np.ndarray:
        """The question's vector; recent ones are remembered (follow-ups re-read earlier turns)."""
        with self._cache_lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
                return vector
        vector = self.embedder.encode([text])[0]
        with self._cache_lock:
            self._cache[text] = vector
            if len(self._cache) > 2048:
                self._cache.popitem(last=False)
        return vector

    def ask(self, question: str | bytes | None, history: Iterable[Any] | None = None) -> Answer:
        """Answer one question, reading it in the light of earlier questions of the conversation."""
        cleaned = clean(question)
        if not any(ch.isalnum() for ch in cleaned.text):
            message = "Please type a question, for example: what fixes overfitting?"
            return Answer(question=cleaned.text, answered=False, answer=message, error="empty question")
        topic = self._topic(user_questions(history)[-HISTORY_TURNS:])
        answer = self._answer(cleaned.text, topic)
        if cleaned.note:
            answer.answer = f"*{cleaned.note}*\n\n{answer.answer}"
        return answer

    def _topic(self, earlier: list[str]) -> int | None:
        """The entry the conversation is about: the first cited entry of the last answered turn."""
        topic = None
        for text in earlier:
            cleaned = clean(text).text
            if not any(ch.isalnum() for ch in cleaned):
                continue
            answer = self._answer(cleaned, topic)
            if answer.answered and answer.citations:
                topic = self._position[answer.citations[0].term]
        return topic

    @property
    def _position(self) -> dict[str, int]:
        if not hasattr(self, "_positions"):
            self._positions = {entry.term: i for i, entry in enumerate(self.entries)}
        return self._positions

    def _answer(self, text: str, topic: int | None) -> Answer:
        words = tokens(text)
        mentions = self.retriever.names.mentions(words)
        reading = None
        if topic is not None and (has_pronoun(text) or is_elliptical(text, len(words))):
            own = {m.entry for m in mentions if m.score == 1.0} - {topic}
            if not own or has_compare_cue(text):
                reading = substitute(text, self.entries[topic].term)
                words = tokens(reading)
                mentions = self.retriever.names.mentions(words)
        query = reading or text
        vector = self.encode(query)
        ranked = self.retriever.rank(query, vector, mentions)
        return self.composer.compose(
            question=text, reading=reading, vector=vector, ranked=ranked, mentions=mentions, words=words,
            subject=define_subject(query), compare=has_compare_cue(query),
        )
