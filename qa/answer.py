"""Ranked evidence -> an Answer: decide (answer, compare, define, refuse), pick the sentences to
quote, and render markdown. Every quote is an exact substring of its entry's definition."""
from __future__ import annotations

import html
from dataclasses import dataclass

from .chunk import split_sentences
from .retrieve import STOPWORDS, EntryEvidence, Mention, Retriever, tokens

# Words that may stand beside a name without changing what is asked ("the dropout technique").
GENERIC = frozenset(
    "algorithm algorithms technique techniques method methods model models concept term approach ml ai thing things in for with"
    " exactly actually really again basically simply please"
    " example examples give show list more detail details common some other types kinds".split()
)


def content_words(words: list[str]) -> list[str]:
    """The words that say what is asked: no stopwords, no generic words."""
    return [w for w in words if w not in STOPWORDS and w not in GENERIC]
from .types import Answer, Citation, Entry


@dataclass
class Policy:
    """Refusal and citation thresholds, calibrated on the dev set (`qa eval`, README)."""

    min_dense: float = 0.36  # answer on meaning alone at or above this cosine
    min_dense_named: float = 0.20  # answer a question naming an entry at or above this
    sure_name: float = 0.85  # a name matched this well (1.0 exact) is enough on its own
    unknown_subject_dense: float = 0.55  # "what is X" with X no entry's name needs this much
    cite_margin: float = 0.12  # cite runners-up this close to the best
    related_margin: float = 1.0  # ... or this close, when their definition names the best entry or a See-also links them
    min_dense_related: float = 0.25  # ... and they bear on the question this much
    min_dense_clear: float = 0.28  # ... or at or above this, when the best entry is far ahead of the next
    clear_margin: float = 0.20  # ... by this much fused score
    unsure_margin: float = 0.035  # "did you mean A or B?" below this gap, when nothing was named
    worded_count: int = 4  # a question with at least this many of its words in one definition ...
    worded_share: float = 0.75  # ... making up this share of its words, is answered like a named one
    max_citations: int = 3
    max_quotes: int = 2
    quote_margin: float = 0.08


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


class Composer:
    def __init__(self, retriever: Retriever, policy: Policy | None = None):
        self.retriever = retriever
        self.policy = policy or Policy()

    # --- quoting -----------------------------------------------------------------------------

    def best_sentences(self, item: EntryEvidence, vector) -> list[str]:
        """The entry's sentences that best answer the question, in the order the entry has them."""
        entry = self.retriever.entries[item.entry]
        if not item.chunk_scores:  # ranked items have them; one made elsewhere may not
            self.retriever.entry_similarity(item.entry, vector, item)
        chunks = self.retriever.index.chunks
        scored = sorted(((item.chunk_scores[p], chunks[p].text) for p in self.retriever.sentence_chunks.get(item.entry, ())), reverse=True)
        if not scored:
            return [entry.definition]
        best = scored[0][0]
        keep = {text for score, text in scored[: self.policy.max_quotes] if score >= best - self.policy.quote_margin}
        return [s for s in split_sentences(entry.definition) if s in keep]

    def citation(self, item: EntryEvidence, quotes: list[str]) -> Citation:
        entry = self.retriever.entries[item.entry]
        return Citation(
            term=entry.term,
            glossary=entry.glossary,
            source=str(entry.source),
            score=round(max(0.0, float(item.score) / self.retriever.weights.scale), 4),
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
        context: set[int] = frozenset(),
        about: str | None = None,
    ) -> Answer:
        """`context`: entries the conversation makes likely; when the question alone is too vague,
        the best of them answers it if it bears on the question as much as a named entry must."""
        policy = self.policy
        by_entry = {item.entry: item for item in ranked}
        named: list[int] = []
        for mention in mentions:
            if mention.entry not in named:
                named.append(mention.entry)

        if compare and len(named) >= 2:
            items = [by_entry[e] for e in named[:2]]
            if all(item.dense >= policy.min_dense_named for item in items):
                return self._compare(question, reading, items)

        def sure(mention: Mention) -> bool:
            """An exact or near-exact name needs no further evidence; a looser typo needs meaning too."""
            return mention.score >= policy.sure_name or by_entry[mention.entry].dense >= policy.min_dense_named

        asked = set(content_words(words))
        if len(named) == 1 and asked and all(any(m.start <= i < m.end for m in mentions) for i, w in enumerate(words) if w in asked):
            # The question is just a name ("dropuot", "lstm?", "k-means clustering"): define it.
            if sure(mentions[0]):
                return self._define(question, reading, by_entry[named[0]])

        if subject is not None:
            subject_words = [w for w in subject.split() if w]
            covering = [m for m in mentions if m.end - m.start >= max(1, len(subject_words) - 2)]
            # Words of the subject outside the name make it another thing ("graph neural network"),
            # except a word the glossary uses after the name: that names what it is ("bn layer").
            subject_tokens = tokens(subject)
            offset = next((i for i in range(len(words)) if words[i : i + len(subject_tokens)] == subject_tokens), None)
            after = covering[0].end - offset if covering and offset is not None else len(subject_tokens)
            extra = [w for i, w in enumerate(subject_tokens) if w in content_words([w])
                     and not any(m.text.split().count(w) for m in covering)
                     and not (i >= after and w in self.retriever.names.vocabulary)]
            if covering and not extra and sure(covering[0]):
                return self._define(question, reading, by_entry[covering[0].entry])
            if (not mentions or extra) and len(subject_words) <= 4:
                places = self.retriever.mentioned_in(subject)
                if places:
                    return self._mentioned(question, reading, subject, places, ranked)
                unknown = not ranked or ranked[0].dense < policy.unknown_subject_dense or self._unknown_kind(words, covering)
                if unknown and not context:  # in context, the conversation's entries may still answer it
                    return self._refuse(question, reading, ranked)

        if not ranked:
            return self._refuse(question, reading, ranked)
        top = ranked[0]
        if about is not None and not mentions and top.dense < policy.unknown_subject_dense and self._unknown_thing(about):
            return self._refuse(question, reading, ranked)  # "how does smote work?": a thing the glossary never names
        # An entry that took the place of a named one (a means for it), or whose definition holds
        # nearly every word of the question, is as sure as a named one.
        vouched = top.name > 0 or top.means_for is not None or self._worded(words, top.entry)
        clear = top.dense >= policy.min_dense_clear and (len(ranked) < 2 or top.score - ranked[1].score >= policy.clear_margin)
        confident = top.dense >= policy.min_dense or clear or (vouched and top.dense >= policy.min_dense_named)
        if not confident and context:
            inside = next((item for item in ranked if item.entry in context), None)
            if inside is not None and inside.dense >= policy.min_dense_named:
                top, confident = inside, True
                ranked = [inside] + [item for item in ranked if item is not inside]
        if not confident:
            return self._refuse(question, reading, ranked)
        # Runners-up are cited when nearly as good; then those whose definition names the best
        # entry ("what fixes overfitting?" -> Regularization, Dropout); then those a "See also"
        # links to it; each only while it still bears on the question.
        close = [item for item in ranked[1:]
                 if item.score >= top.score - policy.cite_margin and (item.dense >= policy.min_dense or item.name > 0)]
        cited = [top] + close
        for related in (self.retriever.named_by.get(top.entry, set()), self.retriever.linked.get(top.entry, set())):
            cited += [item for item in ranked[1:] if item.entry in related and item not in cited
                      and item.dense >= policy.min_dense_related and item.score >= top.score - policy.related_margin]
        unsure = not named and len(ranked) > 1 and ranked[1].score >= top.score - policy.unsure_margin
        if unsure and len(cited) < 2:
            cited.append(ranked[1])
        cited = cited[: policy.max_citations]
        return self._quote(question, reading, vector, cited, unsure=unsure)

    def _worded(self, words: list[str], entry: int) -> bool:
        """Whether the question is told in the entry's own words: "how do i find the directions of
        maximum variance in my data" and PCA's "directions ... of maximum variance in the data"."""
        content = content_words(words)
        found = sum(1 for w in content if self.retriever.uses(entry, w))
        return found >= self.policy.worded_count and found >= self.policy.worded_share * len(content)

    def _unknown_thing(self, word: str) -> bool:
        """A word that is no pronoun or everyday question word, and that the glossary never uses
        (nor a typo of a word it uses)."""
        return bool(content_words([word])) and not self.retriever.names.known_word(word)

    def _unknown_kind(self, words: list[str], covering: list[Mention]) -> bool:
        """A name right after a word the glossary never uses (nor a typo of one) is a kind of it
        the glossary lacks ("graph neural network"), however close in meaning; "benefit of
        transfer learning" is not."""
        if not covering:
            return False
        before = words[covering[0].start - 1] if covering[0].start > 0 else ""
        return bool(content_words([before])) and not self.retriever.names.known_word(before)

    # --- the four shapes of an answer ------------------------------------------------------------

    def _header(self, reading: str | None) -> str:
        return f"*Reading this as: {_escape(reading)}*\n\n" if reading else ""

    def _quote(self, question, reading, vector, items, unsure: bool) -> Answer:
        entries = [self.retriever.entries[item.entry] for item in items]
        quotes = [self.best_sentences(item, vector) for item in items]
        lines = [self._header(reading)]
        if unsure:
            lines.append(f"Did you mean **{_escape(entries[0].term)}** or **{_escape(entries[1].term)}**? Both may answer this.\n\n")
        for number, (entry, qs) in enumerate(zip(entries, quotes), start=1):
            body = " ".join(_render_quote(q, entry) for q in qs)
            lines.append(f"**{_escape(entry.term)}**: {body} [{number}]\n\n")
        text = "".join(lines).rstrip() + _footnote(entries, quotes)
        return Answer(
            question=question,
            answered=True,
            answer=text,
            citations=[self.citation(item, qs) for item, qs in zip(items, quotes)],
            reading=reading,
            suggestions=[e.term for e in entries[:2]] if unsure else [],
        )

    def _define(self, question, reading, item) -> Answer:
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
            question=question, answered=True, answer=text, citations=[self.citation(item, quotes)],
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
            citations=[self.citation(item, [e.definition]) for item, e in zip(items, entries)],
            reading=reading,
        )

    def _mentioned(self, question, reading, subject, places, ranked) -> Answer:
        """'what is XGBoost?': no entry of its own, but named inside an entry's definition."""
        by_entry = {item.entry: item for item in ranked}
        items, quotes = [], []
        for entry, sentence in places:
            items.append(by_entry.get(entry) or EntryEvidence(entry, score=0.0))
            quotes.append([sentence])
        entries = [self.retriever.entries[item.entry] for item in items]
        where = ", ".join(f"**{_escape(e.term)}**" for e in entries)
        lines = [self._header(reading), f"*{_escape(subject)}* has no entry of its own; the glossary mentions it under {where}:\n\n"]
        for number, (entry, qs) in enumerate(zip(entries, quotes), start=1):
            lines.append(f"**{_escape(entry.term)}**: {' '.join(_render_quote(q, entry) for q in qs)} [{number}]\n\n")
        return Answer(
            question=question, answered=True, answer="".join(lines).rstrip() + _footnote(entries, quotes),
            citations=[self.citation(item, qs) for item, qs in zip(items, quotes)], reading=reading,
        )

    def _refuse(self, question, reading, ranked) -> Answer:
        nearest = ranked[:3]
        terms = [self.retriever.entries[item.entry].term for item in nearest]
        text = self._header(reading) + "That is not in the glossary."
        if terms:
            text += " The closest terms are " + ", ".join(f"**{_escape(t)}**" for t in terms) + "."
        return Answer(
            question=question, answered=False, answer=text,
            citations=[self.citation(item, []) for item in nearest],
            reading=reading, suggestions=terms,
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
