"""The front door: `Bot.load()` then `bot.ask(question, history) -> Answer`.

Everything a user can reach (CLI, app, HTTP API, evaluation) goes through here."""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from collections import OrderedDict
from typing import Any, Callable, Iterable

import numpy as np

from . import index as index_mod
from .answer import Composer, Policy, content_words
from .chunk import chunk_entries
from .embed import Embedder
from .errors import CorruptIndexError, MissingIndexError, QAError, StaleIndexError
from .ingest import Corpus, load_corpus
from .query import (
    Question, asked_about, asks_about_the, asks_for_means, asks_for_opposite, asks_for_sibling, asks_history, bare_phrase, clean, closing_subject,
    continues, define_subject, has_compare_cue, has_personal_pronoun, has_pronoun, is_elliptical, joins_topic, new_topic,
    opposite_of, points_to_listed, points_to_second, refers_back, substitute, topic_first,
)
from .retrieve import EntryEvidence, Retriever, Weights, tokens
from .settings import Settings
from .types import Answer

log = logging.getLogger("qa")
HISTORY_TURNS = 3  # how many earlier questions a follow-up can lean on
# "the one that judges", "what's it called", "the two parts", "how many folds", "the most common
# one": no subject of their own
_FRAME_WORDS = frozenset({"one", "ones", "called", "two", "three", "both", "many", "much", "most", "more", "few", "several"})
_MOST_UNUSED = 4  # a vague follow-up says at most this many things its topic's entries never do


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


def message_text(message: dict) -> str:
    """The text of a chat message whose content is a string or a list of text parts."""
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return content if isinstance(content, str) else ""


def user_questions(history: Iterable[Any] | None) -> list[str]:
    """Earlier user questions from a history given as strings, Answers, or chat messages
    ({"role": "user", "content": ...})."""
    out: list[str] = []
    for item in history or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Answer):
            out.append(item.question)
        elif isinstance(item, dict) and item.get("role") == "user":
            out.append(message_text(item))
    return out


_GREETING = re.compile(r"^(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening)|greetings)(?: there| bot| all| everyone)?\W*$", re.I)
_THANKS = re.compile(r"^(?:(?:ok|okay|great|cool|nice|got it)\W*)*(?:thanks|thank you|thx|ty|cheers)(?: so much| a lot| again)?\W*$", re.I)
_NOTED = re.compile(r"^(?:(?:ok|okay|great|cool|nice|got it|i see|makes sense)\W*)+$", re.I)
_BYE = re.compile(r"^(?:bye|goodbye|see you|see ya|cya)\W*$", re.I)
EXAMPLE = "what fixes overfitting?"
GO_AHEAD = f"Sure: what would you like to know? For example: {EXAMPLE}"  # to "different question:" alone


def small_talk(text: str) -> str | None:
    """The reply to a greeting, thanks, an "ok" or goodbye; None for anything else."""
    if _GREETING.match(text):
        return f"Hello! Ask me about any term in the glossary, in your own words, for example: {EXAMPLE}"
    if _THANKS.match(text):
        return "You're welcome! Ask another question any time."
    if _NOTED.match(text):
        return f"Ask another question any time, for example: {EXAMPLE}"
    if _BYE.match(text):
        return "Goodbye, and good luck with the course!"
    return None


def has_words(text: str) -> bool:
    """Whether cleaning left anything to look up (a letter or a digit)."""
    return any(ch.isalnum() for ch in text)


def askable(raw: Any) -> bool:
    """Whether a question has anything to look up once cleaned (not blank, not only invisible
    characters or punctuation): what the chat sends at all."""
    return has_words(clean(raw).text)


def no_words(raw: Any) -> str:
    """What to say when cleaning left no word to look up."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw if isinstance(raw, str) else ""
    if text.strip():  # something was typed: tags, symbols, emoji or control characters only
        return ("There are no words in that to look up (tags, symbols and emoji are left out). "
                f"Please type a question, for example: {EXAMPLE}")
    return f"Please type a question, for example: {EXAMPLE}"


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
        self._position = {entry.term: i for i, entry in enumerate(self.entries)}

    @classmethod
    def load(cls, settings: Settings | None = None, embedder: Embedder | None = None, progress: bool = False,
             on_notice: Callable[[str], None] | None = None) -> "Bot":
        """Read the corpus, check the index against it and the model, and get ready to answer.

        A missing, corrupt or stale index is rebuilt when `settings.rebuild == "auto"` (vectors of
        unchanged chunks are reused) and reported through `on_notice` (logged without one); with
        "never" it raises. Files in the corpus folder that are not read are reported the same way."""
        settings = settings or Settings.from_env()
        corpus = load_corpus(settings.corpus_dir)
        embedder = embedder or Embedder(settings.model)
        notices: list[str] = []

        def notice(message: str) -> None:
            notices.append(message)
            if on_notice:
                on_notice(message)
            else:
                log.warning(message)

        if corpus.unread_note:
            notice(corpus.unread_note)

        problem: QAError | None = None
        try:
            manifest = index_mod.read_manifest(settings.index_dir)
            reason = index_mod.staleness(manifest, corpus.files, settings.model)
            if reason:
                raise StaleIndexError(f"{reason}: run `qa build`")
            vectors = index_mod.load_index(settings.index_dir, manifest)
            if [c.id for c in vectors.chunks] != [c.id for c in chunk_entries(corpus.entries)]:
                raise StaleIndexError("the index's chunks differ from the corpus as this version reads it: run `qa build`")
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
            reason = str(problem).removesuffix(": run `qa build`")  # being done now
            notice(f"Rebuilding the index: {reason}")
            vectors = build(settings, embedder, corpus, progress=progress)
        return cls(settings, corpus, vectors, embedder, notices=notices)

    # --- asking --------------------------------------------------------------------------------

    def encode(self, text: str) -> np.ndarray:
        """The question's vector; recent ones are remembered (follow-ups re-read earlier turns)."""
        return self._warm([text])[text]

    def _warm(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Encode, in one batch, the texts not remembered yet; return vectors for all of them."""
        found: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
                    found[text] = self._cache[text]
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self.embedder.encode(missing)
            with self._cache_lock:
                for text, vector in zip(missing, vectors):
                    found[text] = self._cache[text] = vector
                while len(self._cache) > 1024:
                    self._cache.popitem(last=False)
        return found

    def prefetch(self, questions: list[Any]) -> None:
        """Make, ahead of asking, the vectors these questions need as they stand: `ask_many` then
        finds them remembered (the app's batcher encodes one batch while it ranks another)."""
        texts = [c.text for c in map(clean, questions)]
        texts = [rest or text for text, rest in zip(texts, map(self._fresh, texts))]  # as `ask_many` reads them
        self._warm([self._read(t, None).encoded for t in texts if has_words(t) and small_talk(t) is None])

    def ask(self, question: str | bytes | None, history: Iterable[Any] | None = None) -> Answer:
        """Answer one question, reading it in the light of earlier questions of the conversation."""
        return self.ask_many([question], [history])[0]

    def ask_many(self, questions: list[Any], histories: list[Iterable[Any] | None] | None = None) -> list[Answer]:
        """Answer several questions at once: every text that needs a vector is encoded in one
        batch (the app batches concurrent users' questions through here)."""
        histories = list(histories) if histories is not None else [None] * len(questions)
        if len(histories) != len(questions):
            raise ValueError(f"{len(questions)} questions but {len(histories)} histories")
        cleaned = [clean(q) for q in questions]
        asked = [c.text for c in cleaned]  # shown back as typed: a history of Answers keeps every opening
        earlier = [self._since_new_topic([clean(t).text for t in user_questions(h)])[-HISTORY_TURNS:] for h in histories]
        only_opening = [False] * len(cleaned)
        for i, question in enumerate(cleaned):
            rest = self._fresh(question.text)
            if rest is not None:  # "different question: ...": the conversation so far has no say
                earlier[i] = []
                if rest:
                    cleaned[i] = Question(rest, question.note)
                else:
                    only_opening[i] = True
        usable = [has_words(c.text) for c in cleaned]
        chat = [GO_AHEAD if alone else small_talk(c.text) if ok else None for c, ok, alone in zip(cleaned, usable, only_opening)]
        usable = [ok and said is None for ok, said in zip(usable, chat)]
        # one batch for the questions as they stand and the conversations' turns (see `_topic`)
        alone = {t: self._read(t, None) for t in [c.text for c, ok in zip(cleaned, usable) if ok]}
        self._warm([r.encoded for r in alone.values()] + [self._read(t, None).encoded for e in earlier for t in e if has_words(t)])
        topics = [self._topic(e, c.text) if ok else None for e, c, ok in zip(earlier, cleaned, usable)]
        readings = [(alone[c.text] if t is None else self._read(c.text, t)) if ok else None
                    for c, t, ok in zip(cleaned, topics, usable)]
        vectors = self._warm([r.encoded for r in readings if r is not None])
        responses = [self._answer(r, vectors[r.encoded], t) if r is not None else None for r, t in zip(readings, topics)]
        answers = []
        for raw, typed, question, answer, said in zip(questions, asked, cleaned, responses, chat):
            if said is not None:
                answers.append(Answer(question=typed, answered=False, answer=said, error="not a question"))
                continue
            if answer is None:
                answers.append(Answer(question=typed, answered=False, answer=no_words(raw), error="empty question"))
                continue
            if question.note:
                answer.answer = f"*{question.note}*\n\n{answer.answer}"
            answer.question = typed
            answers.append(answer)
        return answers

    def _fresh(self, text: str) -> str | None:
        """The question without an opening that says it is about something new ("thanks! different
        topic: what's a GAN?"); "" when nothing follows the opening; None when the turn leans on
        the conversation: no such opening, or an "it" or "they" in what follows that may stand for
        the topic, and no entry named there ("different question: why is it used?" still asks
        about the topic; "different question - what's it called when ..." does not)."""
        rest = new_topic(text)
        if rest and refers_back(rest):
            named = self.retriever.names.mentions(tokens(rest))
            if not any(m.score >= self.composer.policy.sure_name for m in named):
                return None
        return rest

    def _since_new_topic(self, questions: list[str]) -> list[str]:
        """The turns of a conversation from the last one that opened a new topic ("different
        question: what is PCA?"), that one read without its opening."""
        out: list[str] = []
        for text in questions:
            rest = self._fresh(text)
            out = out + [text] if rest is None else [rest] if rest else []
        return out

    def _topic(self, earlier: list[str], text: str) -> int | None:
        """The entry the conversation is about when `text` is asked: the first cited entry of the
        last answered turn, or another when `text` points to one by its order (see `_pick`)."""
        cited: list[int] = []
        topics: list[int] = []  # the first entry of each answered turn, a new one each time
        compared = False  # whether the last answered turn named two entries or more
        for said in earlier:
            if not has_words(said):
                continue
            topic = self._pick(cited, said, topics, compared)
            reading = self._read(said, topic)
            answer = self._answer(reading, self.encode(reading.encoded), topic)
            if answer.answered and answer.citations:
                cited = [self._position[c.term] for c in answer.citations]  # term -> entry position
                compared = len({m.entry for m in reading.mentions}) >= 2
                if not points_to_listed(said) and (not topics or topics[-1] != cited[0]):
                    topics.append(cited[0])  # "the first one, ...?" names no new topic
        return self._pick(cited, text, topics, compared)

    @staticmethod
    def _pick(cited: list[int], text: str, topics: list[int], compared: bool) -> int | None:
        """The entry of the last answer a question is about: its first citation; for "the first
        one", "the second one", "the former" or "the latter", the first or second of the two
        entries the last question named ("k-means vs hierarchical clustering?"), or else of the
        last two topics ("the first one" after "what's t-sne?" then "what's pca?" is t-SNE; a
        blind set's follow-ups read so even after an answer citing several entries)."""
        if points_to_listed(text) and not compared and len(topics) >= 2:
            return topics[-1] if points_to_second(text) else topics[-2]
        if len(cited) >= 2 and points_to_second(text):
            return cited[1]
        return cited[0] if cited else None

    def _read(self, text: str, topic: int | None) -> "Reading":
        """How to read a question (`_reading`), with misspelt names spelled right for the model."""
        reading = self._reading(text, topic)
        reading.spelled = self.retriever.names.respelled(reading.query, reading.mentions, self.embedder.whole_words)
        return reading

    def _reading(self, text: str, topic: int | None) -> "Reading":
        """How to read a question: a follow-up (a pronoun, "and ...?", or no word of its own beyond
        "give me some examples") is rewritten with the conversation's topic, unless it names a
        new entry of its own. Then only a question that opens as a continuation and has an "it" or
        "they" leans on the topic ("and what happens when you add deep neural nets to it?"); in
        "is it true that dropout prevents overfitting?" or "how does dropout work and why is it
        useful?" the "it" is no topic's."""
        first = topic_first(text)
        if first is not None and self._known_phrase(first[0]):
            # "early stopping: how does it decide when to stop?" asks how early stopping decides
            rewritten = substitute(first[1], first[0])
            words = tokens(rewritten)
            return Reading(text, rewritten, words, self.retriever.names.mentions(words), alone=True)
        words = tokens(text)
        mentions = self.retriever.names.mentions(words)
        bare = not content_words(words)
        if topic is not None and asks_for_sibling(text):
            return Reading(text, None, words, mentions)  # about another entry than the topic: see _answer
        joins = joins_topic(text)
        leans = has_pronoun(text) or bare or joins or is_elliptical(text, len(words))
        if topic is not None and not self._new_subject(text, topic) and leans:
            own = {m.entry for m in mentions if m.score >= self.composer.policy.sure_name} - {topic}
            compare = has_compare_cue(text)
            if not own or compare or joins or (continues(text) and has_personal_pronoun(text)):
                rewritten = substitute(text, self.entries[topic].term)
                words = tokens(rewritten)
                setting = topic if own and not compare else None
                return Reading(text, rewritten, words, self.retriever.names.mentions(words), setting)
        return Reading(text, None, words, mentions)

    def _known_phrase(self, phrase: str) -> bool:
        """Whether a phrase is a name of an entry, whole, or two words or more a definition uses
        together ("early stopping"; not "training" alone, which many definitions use)."""
        words = tokens(phrase)
        named = self.retriever.names.mentions(words)
        whole = any(m.start == 0 and m.end == len(words) for m in named)
        return whole or (len(content_words(words)) >= 2 and bool(self.retriever.passages(phrase, 1)))

    def _answer(self, reading: "Reading", vector: np.ndarray, topic: int | None) -> Answer:
        """The answer to the question on its own; failing that, to the question as part of the
        conversation (see `_context`)."""
        rest = opposite_of(reading.query)
        if rest is not None and not asks_history(reading.query):
            # "what's the opposite of overfitting?": the entry whose name is the named one's with
            # another prefix, if exactly one is
            named = [m for m in self.retriever.names.mentions(tokens(rest))
                     if m.start == 0 and m.score >= self.composer.policy.sure_name]
            opposite = self.retriever.opposites.get(named[0].entry, set()) if named else set()
            if len(opposite) == 1:
                item = EntryEvidence(next(iter(opposite)), name=1.0)
                read = f"{reading.query.rstrip(' ?')} ({self.entries[item.entry].term})?"
                return self.composer.define(reading.text, read, item)
        near = self._context(reading, topic)  # empty without a topic
        if near and asks_for_sibling(reading.text) and near - {topic}:
            # "ok and the one where the models are trained one after another?" after bagging: the
            # best of the entries the glossary relates to the topic, other than the topic itself;
            # "the opposite problem?" after overfitting: the one whose name is the topic's with
            # another prefix, if one is.
            opposite = self._opposite(reading.text, topic, near)
            if len(opposite) == 1:  # the names say which entry: the question's meaning need not
                item = EntryEvidence(next(iter(opposite)), name=1.0)
                return self.composer.define(reading.text, f"{reading.text.rstrip(' ?')} (the opposite of {self.entries[topic].term})?", item)
            other = Reading(reading.text, f"{reading.text.rstrip(' ?')} (other than {self.entries[topic].term})?",
                            reading.words, reading.mentions)
            answer = self._respond(other, vector, near - {topic}, first=True)
            if answer.answered:
                return answer
        answer = self._respond(reading, vector)
        if near and not answer.answered:
            about = Reading(reading.text, substitute(reading.text, self.entries[topic].term), reading.words, reading.mentions)
            second = self._respond(about, vector, near)
            if not second.answered and self._leans_on(reading, vector, topic, near):
                second = self._respond(about, self.encode(about.rewritten), near)  # the question as read, topic and all
            if second.answered:
                answer = second
        return answer

    def _opposite(self, text: str, topic: int, near: set[int]) -> set[int]:
        """For a question asking for the opposite ("and the opposite problem?" after overfitting),
        the related entries whose name is the topic's with an opposing prefix (Overfitting and
        Underfitting, Supervised and Unsupervised Learning); else none."""
        if not asks_for_opposite(text):
            return set()
        return near & self.retriever.opposites.get(topic, set())

    def _leans_on(self, reading: "Reading", vector: np.ndarray, topic: int, near: set[int]) -> bool:
        """Whether a question too vague to answer alone ("why would I bother?", "how do i fix
        that then?", "whats the improved version with gates called" after RNN) may be read with
        the conversation's topic in it: it asks what no short thing of its own is ("what is test
        set" does; "what are the gates for" after LSTM asks about a part of the topic), and its
        few words that the topic's entries never use are no other entry's either ("which half
        creates the images" after overfitting: GAN's "images"). Saying more than one thing the
        topic itself never says, it must be about the glossary's subject at all ("how many folds
        is normal" after cross-validation says one: "normal")."""
        subject = define_subject(reading.text)
        if subject is not None and len(subject.split()) <= 4 and not has_pronoun(subject) and not asks_about_the(reading.text):
            return False
        said = [w for w in content_words(reading.words) if len(w) > 2 and w not in _FRAME_WORDS]
        unused = [w for w in said if not any(self.retriever.uses(e, w) for e in near)]
        if len(unused) > _MOST_UNUSED or any(w in self.retriever.names.vocabulary for w in unused):
            return False
        # "instead of that, what's a good pizza place" is about something else (`Composer._remote`)
        return sum(not self.retriever.uses(topic, w) for w in said) <= 1 or self.composer.in_domain(vector)

    def _context(self, reading: "Reading", topic: int | None) -> set[int]:
        """Entries a question may be about because of the conversation: the topic and the entries
        the glossary relates to it (its See also, definitions naming it). "which part judges the
        samples?" after "what's a GAN?" names nothing and is too vague alone, but is about GAN;
        "whats the nonlinear one people use for plots instead" after PCA is about t-SNE. None for
        a question read as a follow-up already, one naming an entry of its own, or one asking
        what a short thing is in words those entries do not use ("and what's a random forest?")."""
        if topic is None or reading.rewritten is not None:
            return set()
        if any(m.score >= self.composer.policy.sure_name for m in reading.mentions):
            return set()
        near = {topic} | self.retriever.linked.get(topic, set()) | self.retriever.named_by.get(topic, set())
        subject = define_subject(reading.text)
        if (subject is not None and len(subject.split()) <= 4 and not has_pronoun(subject) and not asks_for_sibling(reading.text)
                and not asks_about_the(reading.text) and not self._all_used(near, subject)):  # "and what about the opposite?" is no new subject
            return set()
        return near

    def _all_used(self, entries: set[int], text: str) -> bool:
        """Whether every content word of the text is used by one of the entries."""
        return all(any(self.retriever.uses(e, w) for e in entries) for w in content_words(tokens(text)))

    def _new_subject(self, text: str, topic: int) -> bool:
        """'and what's a random forest?' or 'pizza recipes' asks about something new; 'and what
        does the discriminator do?' or 'why?' asks about the topic (its definition names the
        discriminator; 'why' names nothing)."""
        subject = define_subject(text)
        if subject is not None and has_pronoun(subject) or points_to_listed(text):  # "what is the latter?"
            return False
        if subject is None and has_pronoun(text):
            return False
        return not self._all_used({topic}, subject or text)

    def _respond(self, reading: "Reading", vector: np.ndarray, context: set[int] | None = None, first: bool = False) -> Answer:
        query = reading.text if context else reading.query  # in context, the rewriting is only shown
        means = asks_for_means(query)
        ranked = self.retriever.rank(reading.spelled or query, vector, reading.mentions, means=means, opposite=asks_for_opposite(query),
                                     alternative=asks_for_sibling(query))
        if means and ranked and reading.setting is not None and ranked[0].entry == reading.setting:
            # "ok and how do I choose the step size for it?" after CNN: the topic read into a question
            # asking how to do something with an entry of its own is where, not what, is asked
            # about ("and is dropout used in it?" after GAN asks about GAN)
            own = {m.entry for m in reading.mentions} - {reading.setting}
            named = next((item for item in ranked if item.entry in own), None)
            if named is not None:
                ranked[0].score, named.score = named.score, ranked[0].score
                ranked.sort(key=lambda item: item.score, reverse=True)
        answer = self.composer.compose(
            question=reading.text, reading=reading.rewritten, vector=vector, ranked=ranked, mentions=reading.mentions,
            words=reading.words, subject=None if first else define_subject(query),  # "what about the opposite?" names no subject
            compare=has_compare_cue(query), context=context or set(),
            about=asked_about(query), context_first=first, closing=closing_subject(query), means=means,
            alone=reading.alone,
        )
        bare = None if context or reading.rewritten or reading.mentions else bare_phrase(query)
        if bare is not None:  # "relu?" asks what "what is relu?" does: where the glossary names it (unless
            # the answer as it stands is another entry's: "labels" keeps Supervised Learning)
            answering = self._position[answer.citations[0].term] if answer.answered else None
            answer = self.composer.where_mentioned(reading.text, reading.rewritten, bare, ranked, answering) or answer
        return answer


@dataclass
class Reading:
    text: str  # the question as asked (cleaned)
    rewritten: str | None  # the follow-up reading, if any
    words: list[str]
    mentions: list
    setting: int | None = None  # the topic read into a question that names an entry of its own
    spelled: str | None = None  # the query with misspelt names written as the glossary writes them, if any
    alone: bool = False  # the rewriting stands on its own: words of the question moved, no conversation

    @property
    def query(self) -> str:
        return self.rewritten or self.text

    @property
    def encoded(self) -> str:
        """What the model reads."""
        return self.spelled or self.query
