"""Ranked evidence -> an Answer: decide (answer, compare, define, refuse), pick the sentences to
quote, and render markdown. Every quote is an exact substring of its entry's definition."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

import numpy as np

from rapidfuzz.distance import OSA

from .chunk import names_of, split_sentences
from .query import asked_about_phrase, asks_beyond, asks_for_math, asks_history, points_back, unqualified
from .retrieve import STOPWORDS, EntryEvidence, Mention, Retriever, tokens
from .types import Answer, Citation, Entry

# Words that may stand beside a name without changing what is asked ("the dropout technique").
GENERIC = frozenset(
    "algorithm algorithms technique techniques method methods model models concept term approach ml ai thing things in for with"
    " exactly actually really again basically simply briefly quickly"
    " example examples give show list more detail details common some other types kinds part bit work works"
    " main major different various popular".split()
)


_YEAR = re.compile(r"\b(?:1[6-9]|20)\d\d\b")  # a definition that dates something can say when
_ANAPHOR = re.compile(r"(?:It|Its|This|These|They|Their|Such)\b")


def _offset(words: list[str], part: list[str]) -> int | None:
    """Where the words of `part` first stand together in `words`."""
    return next((i for i in range(len(words)) if words[i : i + len(part)] == part), None)


def is_content_word(word: str) -> bool:
    """A word that says what is asked: no stopword, no generic word."""
    return word not in STOPWORDS and word not in GENERIC


def content_words(words: list[str]) -> list[str]:
    return [w for w in words if is_content_word(w)]


# Long words that ask nothing of their own; a slip of one asks nothing either ("definiton").
_LONG_FILLERS = tuple(sorted(w for w in STOPWORDS | GENERIC if len(w) >= 7))


def is_filler_slip(word: str) -> bool:
    """A stopword or generic word of seven letters or more, or a slip of one: one letter changed,
    added, dropped (so a word of six may be one) or two swapped ("definiton", "explian", "algoritm")."""
    return len(word) >= 6 and any(OSA.distance(word, filler, score_cutoff=1) <= 1 for filler in _LONG_FILLERS)


@dataclass
class Policy:
    """Refusal and citation thresholds, calibrated on the dev set (`qa eval`, README)."""

    min_dense: float = 0.36  # answer on meaning alone at or above this cosine ...
    min_dense_clear: float = 0.28  # ... or at or above this, when the best entry leads the next
    clear_margin: float = 0.25  # ... by this much fused score
    min_dense_named: float = 0.20  # answer a question naming an entry at or above this
    sure_name: float = 0.85  # a name matched this well (1.0 exact) is enough on its own
    asked_vouch: float = 0.50  # an entry with an example question this close (cosine) is as sure as a named one
    asked_clear: float = 0.50  # ... and one this close counts as meaning for the lead rule (min_dense_clear)
    asked_sure: float = 0.85  # an example question this close is the question: its entry answers
    unknown_subject_dense: float = 0.55  # "what is X" with X no entry's name needs this much
    same_compound_dense: float = 0.68  # "k-X" beside a name "k-Y" is another thing below this cosine
    cite_margin: float = 0.12  # cite runners-up this close to the best
    related_margin: float = 1.3  # ... or this close, when their definition names the best entry or a See-also links them
    min_dense_related: float = 0.25  # ... and they bear on the question this much
    min_score_led: float = 0.12  # answer at or above this fused score (0-1 scale) ...
    led_margin: float = 0.04  # ... leading the next entry by this much ...
    led_asked: float = 0.45  # ... when an example question of the entry is this close (as Weights.asked_floor)
    unsure_margin: float = 0.035  # "did you mean A or B?" below this gap, when nothing was named
    worded_count: int = 4  # a question with at least this many of its words in one definition ...
    worded_share: float = 0.75  # ... making up this share of its words, is answered like a named one
    min_dense_nearest: float = 0.15  # a refusal offers nearest terms only from this cosine up
    min_dense_next: float = 0.20  # an answer names the next entries ("Related:") only from this cosine up (as min_dense_named) ...
    next_margin: float = 0.10  # ... and only linked to its first entry, or within this much of that one's cosine
    min_domain: float = 0.14  # a question farther than this (cosine) from the glossary's centre is about something else ...
    min_domain_named: float = 0.165  # ... or than this, when a name in it is what makes it look answerable
    remote_asked: float = 0.60  # ... unless an example question of its best entry is this close
    max_citations: int = 3
    max_quotes: int = 2
    quote_margin: float = 0.08


_SUFFIXES = tuple(sorted(("ization", "isation", "izations", "isations", "ations", "ation", "izing", "ising", "ized", "ised", "izes",
                    "ises", "ize", "ise", "ings", "ing", "ers", "er", "ed", "es", "e", "s", "al", "ally"), key=len, reverse=True))


def _stem(word: str) -> str:
    """A word without its inflectional or derivational ending, keeping at least five letters:
    "regularize", "regularization" -> "regular"; a typo keeps its slip ("clustring" -> "clustr")."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 5:
            return word[: -len(suffix)]
    return word


def _escape(text: str) -> str:
    """Glossary text and questions are shown as text, never as HTML."""
    return html.escape(text, quote=False)


def _render_quote(quote: str, entry: Entry) -> str:
    text = _escape(quote)
    for span in entry.completed:
        if span and span in quote:
            text = text.replace(_escape(span), f"*{_escape(span)}*†")
    return text


def _footnote(entries: list[Entry], quotes: list[list[str]]) -> str:
    marked = any(span in q for entry, qs in zip(entries, quotes) for q in qs for span in entry.completed if span)
    return "\n\n† *Words in italics complete a sentence the source page cut short; written by course staff.*" if marked else ""


def centre(retriever: Retriever, sample: int = 20000) -> np.ndarray:
    """The unit mean of the index's vectors (sentences, whole entries, example questions): where
    the glossary's subject lies. Past `sample` chunks, the mean of a fixed random sample."""
    count = len(retriever.index.chunks)
    positions = np.arange(count)
    if count > sample:
        positions = np.sort(np.random.default_rng(0).choice(count, sample, replace=False))
    mean = retriever.index.vectors_for(positions.tolist()).astype(np.float64).mean(axis=0) if count else np.zeros(1)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else mean.astype(np.float32)


class Composer:
    def __init__(self, retriever: Retriever, policy: Policy | None = None):
        self.retriever = retriever
        self.policy = policy or Policy()
        self.centre = centre(retriever)

    # --- quoting -----------------------------------------------------------------------------

    def best_sentences(self, item: EntryEvidence, vector, means: bool = False) -> list[str]:
        """The entry's sentences that best answer the question, in the order the entry has them.
        For a question asking what to do (`means`), also its best sentence naming other entries:
        "Overfitting can be mitigated by using regularization techniques, cross-validation, ..."."""
        entry = self.retriever.entries[item.entry]
        if not item.chunk_scores:  # ranked items have them; one made elsewhere may not
            self.retriever.entry_similarity(item.entry, vector, item)
        chunks = self.retriever.index.chunks
        scored = sorted(((item.chunk_scores[p], chunks[p].text) for p in self.retriever.sentence_chunks.get(item.entry, ())), reverse=True)
        if not scored:
            return [entry.definition]
        best = scored[0][0]
        keep = {text for score, text in scored[: self.policy.max_quotes] if score >= best - self.policy.quote_margin}
        if means:  # the best-scoring sentence naming another entry
            remedy = next((text for _, text in scored if text not in keep and self._names_others(text, item.entry)), None)
            if remedy:
                keep.add(remedy)
        sentences = split_sentences(entry.definition)
        # A sentence opening with "It"/"This"/"They" needs the one before it to say what that is.
        keep |= {sentences[i - 1] for i, s in enumerate(sentences) if i and s in keep and _ANAPHOR.match(s)}
        return [s for s in sentences if s in keep]

    def _names_others(self, sentence: str, entry: int) -> bool:
        return any(m.entry != entry for m in self.retriever.names.mentions(tokens(sentence), fuzzy=False))

    def citation(self, item: EntryEvidence, quotes: list[str], by_name: bool = False) -> Citation:
        """`by_name`: the entry was chosen for its name ("what is X", "X vs Y"); its score is then
        at least how well the name matched (1.0 exact), not only how close its text is in meaning
        ("gradiant decent explained" read 0.01)."""
        entry = self.retriever.entries[item.entry]
        score = max(0.0, float(item.score) / self.retriever.scale)
        return Citation(
            term=entry.term,
            glossary=entry.glossary,
            source=str(entry.source),
            score=round(max(score, item.name) if by_name else score, 4),
            quotes=quotes,
            definition=entry.definition,
        )

    # --- the decision -------------------------------------------------------------------------

    def compose(
        self,
        question: str,
        reading: str | None,
        vector,
        ranked: list[EntryEvidence],
        mentions: list[Mention],
        words: list[str],
        subject: str | None,
        compare: bool,
        context: frozenset[int] | set[int] = frozenset(),
        about: str | None = None,
        context_first: bool = False,
        closing: str | None = None,
        means: bool = False,
        alone: bool = False,
    ) -> Answer:
        """`context`: entries the conversation makes likely. When the question alone is too vague
        (or asks "what is X" for an X that is no entry), only the best of them may answer it, if it
        bears on the question as much as a named entry must (and, for a "what is X", uses X's
        words). `context_first`: one of the context entries answers whenever one bears on the
        question that much, however well others match ("and the opposite, with no labels?").
        `about`: the first word of what a "how does X ..." question asks about. `closing`: the
        subject of a definition request closing a longer question (see `_closing`). `means`: the
        question asks what to do; the answer quotes how the glossary says it is done. `alone`: the
        reading only moves the question's own words ("early stopping: how does it work?"), so it is
        judged as a question asked that way, not as part of a conversation."""
        policy = self.policy
        by_entry = {item.entry: item for item in ranked}
        named: list[int] = []
        for mention in mentions:
            if mention.entry not in named:
                named.append(mention.entry)

        if asks_for_math(question) and not any("=" in self.retriever.entries[item.entry].definition for item in ranked[:3]):
            # "softmax formula pls": the definitions say what things are, in words, with no formula
            return self._refuse(question, reading, ranked, "The glossary explains terms in words; it gives no formulas.")

        if compare and len(named) >= 2:
            items = [by_entry[e] for e in named[:2]]
            if all(item.dense >= policy.min_dense_named for item in items):
                return self._compare(question, reading, items)

        def sure(mention: Mention) -> bool:
            """An exact or near-exact name needs no further evidence; a looser typo needs meaning too."""
            return mention.score >= policy.sure_name or by_entry[mention.entry].dense >= policy.min_dense_named

        # what the question asks beside a name: no qualifier ("in plain english", "in deep
        # learning": a name there says where it is asked), no slip of a filler word the glossary
        # does not use ("definiton")
        core = tokens(unqualified(" ".join(words)))
        start = _offset(words, core) or 0  # a qualifier may open and another close the question
        own = [m for m in mentions if start <= m.start and m.end <= start + len(core)]
        wanted = {w for w in content_words(core)
                  if w in self.retriever.names.vocabulary or not is_filler_slip(w)} if len({m.entry for m in own}) == 1 else set()
        if wanted and all(any(m.start <= i < m.end for m in own) for i, w in enumerate(words) if w in wanted):
            # The question is just a name ("dropuot", "lstm?", "k-means clustering", "AE in deep
            # learning?"): define it.
            if sure(own[0]):
                return self.define(question, reading, by_entry[own[0].entry])

        other = self._other_compound((subject, asked_about_phrase(question), question), words, mentions, context, ranked)
        if other is not None:
            places = self.retriever.passages(other, policy.max_citations + 1)
            if not places:
                return self._refuse(question, reading, ranked)
            if len(places) <= policy.max_citations:  # more: a word the glossary uses widely
                return self._mentioned(question, reading, other, places, ranked)

        if subject is None and closing is not None:
            subject = self._closing(closing, words, mentions, ranked)
        if subject is not None:
            subject = self._head(subject, words, mentions)
            subject_words = [w for w in subject.split() if w]
            subject_tokens = tokens(subject)
            offset = _offset(words, subject_tokens)
            in_subject = [m for m in mentions if offset is None or m.start < offset + len(subject_tokens) and m.end > offset]
            covering = [m for m in in_subject if m.end - m.start >= max(1, len(subject_words) - 2)]
            # Words of the subject outside the name make it another thing ("graph neural network"),
            # except a word of some entry's name after it: that says what it is ("bn layer").
            # Nor do words of another of its own names ("k-fold cv": "k-fold cross-validation").
            after = covering[0].end - offset if covering and offset is not None else len(subject_tokens)
            own = set(tokens(" ".join(names_of(self.retriever.entries[covering[0].entry])))) if covering else set()
            extra = [w for i, w in enumerate(subject_tokens) if is_content_word(w) and w not in own
                     and not any(m.text.split().count(w) for m in covering)
                     and not (i >= after and w in self.retriever.names.name_words)]
            if covering and not extra and sure(covering[0]):
                return self.define(question, reading, by_entry[covering[0].entry])
            if (not in_subject or extra) and len(subject_words) <= 4:
                places = self.retriever.mentioned_in(subject)
                if places:  # asked more than what it is, the glossary can say no more than where it is named
                    return self._mentioned(question, reading, subject, places, ranked, answered=not asks_beyond(question))
                subject_content = content_words(subject_tokens)
                strange = all(self._unknown_thing(w) for w in subject_content)  # "attention": no word of ours
                if not ranked or ranked[0].dense < policy.unknown_subject_dense or strange or self._unknown_kind(words, covering):
                    # No entry of its own; in a conversation, one of the topic's entries using its
                    # words and close in meaning may still answer ("what does the complexity penalty
                    # do" after overfitting; not "what is training set", which Dropout's words hold).
                    context = {e for e in context if all(self.retriever.uses(e, w) for w in subject_content)}
                    inside = next((item for item in ranked if item.entry in context), None)
                    if inside is None or inside.dense < policy.min_dense:
                        return self._refuse(question, reading, ranked)
                    return self._quote(question, reading, vector, [inside], unsure=False, ranked=ranked)

        if not ranked:
            return self._refuse(question, reading, ranked)
        same = max(ranked, key=lambda item: item.asked)
        asked_before = same.asked >= policy.asked_sure  # nearly word for word: its entry answers, no "did you mean"
        if asked_before and same is not ranked[0]:
            ranked = [same] + [item for item in ranked if item is not same]
        top = ranked[0]
        if about in self.retriever.names.proper_words or about in self.retriever.spelled_out:
            # "how does Adam adapt the step size?", "how does sgd work?": a thing a definition only names in passing
            places = self.retriever.mentioned_in(about)
            if places:
                return self._mentioned(question, reading, about, places, ranked, answered=False)
        if about is not None and not mentions and top.dense < policy.unknown_subject_dense and self._unknown_thing(about):
            return self._refuse(question, reading, ranked)  # "how does smote work?": a thing the glossary never names
        # An entry that took the place of a named one (a means for it), whose example question is
        # nearly this question, or whose definition holds nearly every word of it, is as sure as a
        # named one.
        vouched = top.name > 0 or top.means_for is not None or top.asked >= policy.asked_vouch or self._worded(words, top.entry)
        lead = top.score - ranked[1].score if len(ranked) > 1 else float("inf")  # fused score over the next entry's
        clear = (top.dense >= policy.min_dense_clear or top.asked >= policy.asked_clear) and lead >= policy.clear_margin
        confident = top.dense >= policy.min_dense or clear or asked_before or (vouched and top.dense >= policy.min_dense_named)
        # Or all the evidence together: a fused score leading the next entry's, with an example
        # question of the entry above the floor any two questions share ("raw sales table has only
        # dates and prices, how do i get better accuracy by creating new useful columns from it":
        # each signal short of its own rule).
        scale = self.retriever.scale
        confident = confident or (top.score >= policy.min_score_led * scale and top.asked >= policy.led_asked
                                  and lead >= policy.led_margin * scale)
        if confident and not asked_before and (reading is None or alone) and self._remote(vector, words, mentions, top):
            confident = False  # "what's the high school dropout rate in the us": about something else
        chosen = asked_before  # by an example question or the conversation: no "did you mean" then
        if (context_first or not confident) and context:
            inside = next((item for item in ranked if item.entry in context), None)
            if inside is not None and inside.dense >= policy.min_dense_named:
                top, confident, chosen = inside, True, True
                ranked = [inside] + [item for item in ranked if item is not inside]
        if not confident and len(named) == 1:
            # An entry no evidence makes sure of yields to the one entry the question names, as the
            # glossary writes it, when that one bears on the question as much as a named entry must
            # ("BN layer what does it do"; not "km a week", an initialism of K-means).
            item = by_entry[named[0]]
            written = any(m.text.replace(" ", "") not in self.retriever.names.initialisms for m in mentions)
            if written and item.dense >= policy.min_dense_named and not self._remote(vector, words, mentions, item):
                top, confident = item, True
                ranked = [top] + [other for other in ranked if other is not top]
        if not confident:
            return self._refuse(question, reading, ranked)
        if asks_history(question) and not _YEAR.search(self.retriever.entries[top.entry].definition):
            return self._refuse(question, reading, ranked)  # "who invented it?": no definition says who or when
        # Runners-up are cited when nearly as good; then those whose definition names the best
        # entry ("what fixes overfitting?" -> Regularization, Dropout); then those a "See also"
        # links to it; each only while it still bears on the question.
        close = [item for item in ranked[1:]
                 if item.score >= top.score - policy.cite_margin and (item.dense >= policy.min_dense or item.name > 0)]
        cited = [top] + close
        for related in (self.retriever.named_by.get(top.entry, set()), self.retriever.linked.get(top.entry, set())):
            cited += [item for item in ranked[1:] if item.entry in related and item not in cited
                      and item.dense >= policy.min_dense_related and item.score >= top.score - policy.related_margin]
        unsure = not named and not chosen and len(ranked) > 1 and ranked[1].score >= top.score - policy.unsure_margin
        if unsure and len(cited) < 2:
            cited.append(ranked[1])
        cited = cited[: policy.max_citations]
        return self._quote(question, reading, vector, cited, unsure=unsure, means=means, ranked=ranked)

    def _closing(self, closing: str, words: list[str], mentions: list[Mention], ranked: list[EntryEvidence]) -> str | None:
        """A definition request closing a longer question is one only about a name said in the
        question: "prof keeps saying DRL, what's that" (the one entry named; or the one thing a
        definition names in passing, "saw adam in a paper, what is it"), "config has LR=3e-4,
        what does LR mean", "what is the BN part". Not "..., what's that called", nor a "what's
        that" after a description another entry matches better than the name in it ("adding a
        penalty term to the loss for model complexity - what's that?")."""
        sure = [m for m in mentions if m.score >= self.policy.sure_name]
        if points_back(closing):
            described = bool(ranked) and ranked[0].dense >= self.policy.min_dense and all(ranked[0].entry != m.entry for m in sure)
            if described:
                return None
            if len({m.entry for m in sure}) == 1:
                return sure[0].text
            passing = {w for w in words if w in self.retriever.names.proper_words}
            return next(iter(passing)) if not sure and len(passing) == 1 else None
        said = tokens(closing)
        for m in sure:
            name = m.text.split()
            if said[: len(name)] == name and not content_words(said[len(name):]):
                return closing
        return None

    def _head(self, subject: str, words: list[str], mentions: list[Mention]) -> str:
        """'droput in nueral nets' -> 'droput': a name followed by "in", "for", "within" or
        "inside" and words the glossary uses (or typos of them) says where the thing is asked
        about, not what it is ("regularization in quantum field theory" stays whole: "quantum"
        and "field" are none of the glossary's). With words before the name, those and the name
        are the thing, whatever follows ("graph neural network for molecules" -> "graph neural
        network"), and the caller judges the words before it."""
        subject_tokens = tokens(subject)
        offset = _offset(words, subject_tokens)
        if offset is None:
            return subject
        end = offset + len(subject_tokens)
        for m in mentions:
            if offset <= m.start and m.end + 1 < end and words[m.end] in ("in", "for", "within", "inside"):
                if m.start > offset:  # "graph neural network for molecules": the thing is "graph neural network"
                    return " ".join(words[offset : m.end])
                tail = range(m.end + 1, end)
                named = {i for other in mentions for i in range(other.start, other.end)}
                if all(i in named or not is_content_word(words[i]) or self.retriever.names.known_word(words[i]) for i in tail):
                    return " ".join(words[m.start : m.end])
        return subject

    def in_domain(self, vector, least: float | None = None) -> bool:
        """Whether a question's vector lies in the glossary's domain: its cosine with the centre
        is at least `least` (`min_domain` by default; a vector of another shape cannot be judged:
        taken as in)."""
        least = self.policy.min_domain if least is None else least
        return self.centre.shape != np.shape(vector) or float(self.centre @ vector) >= least

    def _remote(self, vector, words: list[str], mentions: list[Mention], top: EntryEvidence) -> bool:
        """Whether a question that says more than a name is far from everything the glossary is
        about, whatever one word of it names ("what's the high school dropout rate", "how do i
        update the linux kernel"): its cosine with the glossary's centre is below `min_domain`,
        or below `min_domain_named` when it names an entry (a name in another sense makes a
        question look nearer than it is: "tips for bagging groceries" 0.163; unnamed questions in
        scope reach down to 0.155: "how do i segment my users into groups ..."). Not when a name in
        it is misspelt (the vector of a typo says little), nor when one of the entry's example
        questions is close to it."""
        if vector is None or self.in_domain(vector, self.policy.min_domain_named if mentions else None):
            return False
        if top.asked >= self.policy.remote_asked:
            return False
        if any(m.score < 1.0 and not self._inflected(m) or len(m.text.replace(" ", "")) <= 4 for m in mentions):
            return False
        named = {i for m in mentions for i in range(m.start, m.end)}
        return len(content_words([w for i, w in enumerate(words) if i not in named])) >= 2

    def _inflected(self, mention: Mention) -> bool:
        """Whether a name matched only fuzzily is another form of one of its words, not a typo
        ("regularize" for Regularization): a real word, whose vector the model reads as well as
        the name's; "regularizaton" keeps its slip."""
        said = tokens(mention.text)
        return len(said) == 1 and any(
            said[0] != word and _stem(said[0]) == _stem(word)
            for name in names_of(self.retriever.entries[mention.entry]) for word in tokens(name))

    def _worded(self, words: list[str], entry: int) -> bool:
        """Whether the question is told in the entry's own words: "how do i find the directions of
        maximum variance in my data" and PCA's "directions ... of maximum variance in the data"."""
        content = content_words(words)
        found = sum(1 for w in content if self.retriever.uses(entry, w))
        return found >= self.policy.worded_count and found >= self.policy.worded_share * len(content)

    def _other_compound(self, phrases, words, mentions, context, ranked) -> str | None:
        """The thing asked about (the subject, the X of "how does X ...", or what the question
        opens with), when it opens with one letter, a hyphen and another word than an entry
        name's ("what is k-nearest neighbours?", "how does k-medoids work?", "t-test vs
        z-test?" beside K-means and t-SNE): another name, however close in meaning. Not when the
        question names the entry it shares the letter with ("the k-value in k-means") or a name
        covers it, nor in a conversation ("what does the k-th cluster mean" after K-means), nor
        when an entry matches it nearly as well as a paraphrase ("f-measure" for an F-score)."""
        if context or (ranked and ranked[0].dense >= self.policy.same_compound_dense):
            return None
        for phrase in phrases:
            found = self.retriever.names.other_compound(phrase) if phrase else None
            if found is None:
                continue
            other, owners = found
            at = _offset(words, tokens(other))
            if any(m.entry in owners or at is not None and m.start < at + len(tokens(other)) and m.end > at for m in mentions):
                return None
            return other
        return None

    def _unknown_thing(self, word: str) -> bool:
        """A word (or a part of a hyphenated one) that is no stopword or generic word and that the
        glossary never uses, nor a typo of a word it uses."""
        return any(is_content_word(part) and not self.retriever.names.known_word(part) for part in tokens(word))

    def _unknown_kind(self, words: list[str], covering: list[Mention]) -> bool:
        """A name right after a word the glossary never uses (nor a typo of one) is a kind of it
        the glossary lacks ("graph neural network"), however close in meaning; "benefit of
        transfer learning" is not."""
        if not covering:
            return False
        return covering[0].start > 0 and self._unknown_thing(words[covering[0].start - 1])

    # --- the four shapes of an answer ------------------------------------------------------------

    def _header(self, reading: str | None) -> str:
        return f"*Reading this as: {_escape(reading)}*\n\n" if reading else ""

    def _quote(self, question, reading, vector, items, unsure: bool, means: bool = False, ranked=()) -> Answer:
        entries = [self.retriever.entries[item.entry] for item in items]
        # The next entries, named after the quotes while fewer than `max_citations` are cited, that
        # bear on the question as a named entry must and are linked to the first entry or about as
        # close as it: where the first answer is not the one the student meant, the one meant is a
        # click away.
        cited = {item.entry for item in items}
        kin = self.retriever.linked.get(items[0].entry, set()) | self.retriever.named_by.get(items[0].entry, set())
        related = [self.retriever.entries[item.entry].term for item in ranked
                   if item.entry not in cited and item.dense >= self.policy.min_dense_next
                   and (item.entry in kin or item.dense >= items[0].dense - self.policy.next_margin)][: self.policy.max_citations - len(items)]
        quotes = [self.best_sentences(item, vector, means=means and n == 0) for n, item in enumerate(items)]
        lines = [self._header(reading)]
        if unsure:
            lines.append(f"Did you mean **{_escape(entries[0].term)}** or **{_escape(entries[1].term)}**? Both may answer this.\n\n")
        for number, (entry, qs) in enumerate(zip(entries, quotes), start=1):
            body = " ".join(_render_quote(q, entry) for q in qs)
            lines.append(f"**{_escape(entry.term)}**: {body} [{number}]\n\n")
        if related:
            lines.append("Related: " + ", ".join(f"**{_escape(term)}**" for term in related))
        text = "".join(lines).rstrip() + _footnote(entries, quotes)
        return Answer(
            question=question,
            answered=True,
            answer=text,
            citations=[self.citation(item, qs) for item, qs in zip(items, quotes)],
            reading=reading,
            suggestions=[e.term for e in entries[:2]] + related if unsure else related,  # the buttons: what the text offers
            related=related,
        )

    def define(self, question, reading, item) -> Answer:
        entry = self.retriever.entries[item.entry]
        quotes = [entry.definition]
        see_also = ", ".join(f"**{_escape(term)}**" for term in entry.see_also)
        text = self._header(reading) + f"**{_escape(entry.term)}**: {_render_quote(entry.definition, entry)} [1]"
        if entry.aliases:
            text += f"\n\nAlso called: {_escape(', '.join(entry.aliases))}"
        if see_also:
            text += f"\n\nSee also: {see_also}"
        text += _footnote([entry], [quotes])
        return Answer(
            question=question, answered=True, answer=text, citations=[self.citation(item, quotes, by_name=True)],
            reading=reading, suggestions=list(entry.see_also),
        )

    def _compare(self, question, reading, items) -> Answer:
        entries = [self.retriever.entries[item.entry] for item in items]
        cells = [_render_quote(e.definition, e).replace("|", "\\|").replace("\n", " ") for e in entries]
        heads = [f"{_escape(e.term)} [{n}]".replace("|", "\\|") for n, e in enumerate(entries, start=1)]
        text = (
            self._header(reading)
            + f"| {heads[0]} | {heads[1]} |\n|---|---|\n| {cells[0]} | {cells[1]} |"
            + _footnote(entries, [[e.definition] for e in entries])
        )
        return Answer(
            question=question, answered=True, answer=text,
            citations=[self.citation(item, [e.definition], by_name=True) for item, e in zip(items, entries)],
            reading=reading,
        )

    def where_mentioned(self, question, reading, phrase: str, ranked, answering: int | None = None) -> Answer | None:
        """'what is relu?' for a phrase that has no entry: where the glossary names it. None where
        it names it nowhere (or in more than `max_citations` entries), or where `answering`, the
        entry that answers the question as it stands, is none of those places but uses every word
        of the phrase ("labels" keeps Supervised Learning; "batch size" does not keep Batch
        Normalization)."""
        places = self.retriever.mentioned_in(phrase)
        if not places:
            return None
        if answering is not None and answering not in {e for e, _ in places}:
            own = {_stem(w) for w in self.retriever.names.entry_words[answering]}
            if all(_stem(w) in own for w in content_words(tokens(phrase))):
                return None
        return self._mentioned(question, reading, phrase, places, ranked)

    def _mentioned(self, question, reading, subject, places, ranked, answered: bool = True) -> Answer:
        """'what is XGBoost?': no entry of its own, but named inside an entry's definition. With
        `answered=False` ("how does Adam adapt the step size?") the glossary says no more than that,
        so the question is refused, pointing to where it is named."""
        by_entry = {item.entry: item for item in ranked}
        items, quotes = [], []
        for entry, sentence in places:
            items.append(by_entry.get(entry) or EntryEvidence(entry, score=0.0))
            quotes.append([sentence])
        entries = [self.retriever.entries[item.entry] for item in items]
        where = ", ".join(f"**{_escape(e.term)}**" for e in entries)
        opening = "" if answered else "That is not in the glossary: "
        spelled = self.retriever.spelled_out.get(subject)
        shown = f"*{_escape(subject)}*" + (f" ({_escape(spelled)})" if spelled else "")  # "sgd (stochastic gradient descent)"
        lines = [self._header(reading), f"{opening}{shown} has no entry of its own; the glossary mentions it under {where}"
                 + (":\n\n" if answered else ", and says no more than this:\n\n")]
        for number, (entry, qs) in enumerate(zip(entries, quotes), start=1):
            lines.append(f"**{_escape(entry.term)}**: {' '.join(_render_quote(q, entry) for q in qs)} [{number}]\n\n")
        return Answer(
            question=question, answered=answered, answer="".join(lines).rstrip() + _footnote(entries, quotes),
            citations=[self.citation(item, qs) for item, qs in zip(items, quotes)], reading=reading,
            suggestions=[] if answered else [e.term for e in entries], no_entry=subject,
        )

    def _refuse(self, question, reading, ranked, why: str = "") -> Answer:
        # Only terms that bear on the question at all: "what's the capital of France?" gets none.
        nearest = [item for item in ranked[:3] if item.dense >= self.policy.min_dense_nearest]  # in the fused ranking's order
        terms = [self.retriever.entries[item.entry].term for item in nearest]
        text = self._header(reading) + "That is not in the glossary." + (f" {why}" if why else "")
        if len(terms) == 1:
            text += f" The closest term is **{_escape(terms[0])}**."
        elif terms:
            text += " The closest terms are " + ", ".join(f"**{_escape(t)}**" for t in terms) + "."
        # each scored by its cosine, the figure its offer rests on (a fused score can be 0 here)
        citations = [self.citation(item, []).model_copy(update={"score": round(max(0.0, float(item.dense)), 4)}) for item in nearest]
        return Answer(
            question=question, answered=False, answer=text, citations=citations, reading=reading, suggestions=terms,
        )


def sources_markdown(answer: Answer) -> str:
    """The numbered sources of an answer (or the nearest terms of a refusal), as markdown."""
    lines = []
    for number, c in enumerate(answer.citations, start=1):
        file, _, line = c.source.rpartition(":")
        lines.append(
            f"{number}. **{_escape(c.term)}** · {_escape(c.glossary)} · `{_escape(file)}` line {line} · score {c.score:.2f}"
        )
    return "\n".join(lines)
