"""Question text + vector -> entries ranked by evidence: names (exact and fuzzy), BM25 and dense
sentence-level similarity, fused per entry. Pure ranking over arrays and tables; no model here."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from .chunk import names_of, split_sentences
from .index import VectorIndex
from .ingest import normalize_name
from .types import Entry

STOPWORDS = frozenset(
    """a an the of in on for to and or is are was were be been being what whats what's which who whom how why
    when where do does did can could should would will i me my we our you your it its it's this that these those
    they them their there here with without by from as at into about than then so if not no yes any some
    explain explained explanation define defined definition definitions describe described description tell meaning
    mean means use used using get make difference between vs versus
    please pls plz thanks thx""".split()
)
_TOKEN = re.compile(r"\w+", re.UNICODE)
# One letter, a hyphen (or the Unicode ones pasted from PDFs) and a word: "k-means", "t-SNE".
_LETTER_HEAD = re.compile(r"(?<![\w\-\u2010\u2011])([^\W\d_])[\-\u2010\u2011]([^\W\d_][^\W_]*)")
# The same written with spaces and two words after the letter: "k nearest neighbours".
_LETTER_WORDS = re.compile(r"([^\W\d_])\s+([^\W\d_]{3,})\s+([^\W\d_]{3,})\b")
# What `bm25s.tokenize(..., stopwords="en")` makes of a text, for one question at a time: that
# call builds two progress bars (disabled, still constructed) per call, a tenth of a question's
# ranking time (tests/test_retrieve.py checks the two agree).
_BM25_SPLIT = re.compile(r"(?u)\b\w\w+\b").findall
_BM25_STOPWORDS = frozenset(STOPWORDS_EN)
# An item of a list in a definition: after a comma, "include", "such as", "and" or "or", and
# before the next of those or the sentence's end ("... include gradient descent, stochastic
# gradient descent, and Adam").
_LIST_ITEM = re.compile(r"(?:,|\binclud(?:e|es|ing)|\bsuch as|\band|\bor)\s+([^\W\d_][\w-]*(?:\s+[^\W\d_][\w-]*){1,4})"
                        r"(?=\s*(?:,|;|\.|\(|\band\b|\bor\b|$))")


_PREFIX = re.compile(r"^(?:over|under|un|non|semi)-?")  # opposing prefixes: Overfitting, Underfitting


def unprefixed(term: str) -> str:
    """A name without an opposing prefix on its first word: "underfitting" and "overfitting" -> "fitting"."""
    return _PREFIX.sub("", normalize_name(term), count=1)


_SENTENCE, _ASKED, _WHOLE = 0, 1, 2  # chunk kinds, as Retriever._dense reads them
_KINDS = {"sentence": _SENTENCE, "asked": _ASKED}  # anything else is the whole entry
_NONE = np.zeros(0, dtype=np.int64)


SLIP_SCORE = 86.0  # a one-slip typo of a short name: sure enough to define it (Policy.sure_name 0.85)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def bm25_words(text: str) -> list[str]:
    """The words BM25 indexed the definitions by: lower-cased, two letters or more, no stopwords."""
    return [w for w in _BM25_SPLIT(text.lower()) if w not in _BM25_STOPWORDS]


_ENDINGS = ("ing", "ed", "es", "s", "ly")


def _whole(word: str, whole_words: frozenset[str]) -> bool:
    """Whether the model reads a word, or the word without an inflection, as one piece."""
    return word in whole_words or any(word.endswith(e) and word[: -len(e)] in whole_words for e in _ENDINGS)


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
    name: str = ""  # the name a fuzzy match took the span for ("deep learning" for "deap lerning")


class NameTable:
    """Every way an entry is named (term, term without its parenthesis, the acronym in it, aliases,
    plural/singular), matched exactly and, for typos, fuzzily. Fuzzy candidates are bucketed by
    first letter so the cost stays small however many entries there are."""

    def __init__(self, entries: list[Entry]):
        self.exact: dict[str, int] = {}
        self.written: dict[str, str] = {}  # squashed name -> the name as the glossary writes it
        buckets: dict[tuple[str, int], dict[str, int]] = {}
        # Initialisms of multi-word names ("nn", "gd", "cv") name an entry when no other name,
        # and no other entry's initialism, is spelled the same.
        initialisms: dict[str, set[int]] = {}
        for position, entry in enumerate(entries):
            for name in (entry.term, *entry.aliases):
                words = normalize_name(re.sub(r"\([^)]*\)", " ", name)).split()
                if len(words) >= 2:
                    initialisms.setdefault("".join(w[0] for w in words), set()).add(position)
        for position, entry in enumerate(entries):
            for name, written in self.variants(entry).items():
                self.exact.setdefault(name, position)
                squashed = _squash(name)
                self.exact.setdefault(squashed, position)
                self.written.setdefault(squashed, written)
                if len(squashed) >= 4:
                    buckets.setdefault((squashed[:2], len(squashed)), {}).setdefault(squashed, position)
                if len(squashed) >= 6:  # the second letter dropped: "herarchical clustring"
                    buckets.setdefault((squashed[0] + squashed[2], len(squashed)), {}).setdefault(squashed, position)
                if len(squashed) >= 10:
                    buckets.setdefault((squashed[:3], len(squashed)), {}).setdefault(squashed, position)
        self.initialisms: set[str] = set()  # names made here, not written in the glossary
        for initials, owners in initialisms.items():
            if len(owners) == 1 and initials not in self.exact and initials not in STOPWORDS:
                self.exact[initials] = next(iter(owners))
                self.initialisms.add(initials)
        # Typos keep the first two letters (or the first and third) and change the length by at most
        # two (long names: by a third, keeping their first three letters): a name is compared only
        # with names in those small buckets, so the cost stays flat as the glossary grows.
        self.buckets = {key: (list(table), list(table.values())) for key, table in buckets.items()}
        self.longest = max((len(name.split()) for name in self.exact), default=1)
        # The first three letters of every name (and their shorter prefixes): a span whose first
        # word starts with none of them can be no name, written with spaces or squashed.
        self.heads = frozenset(name[:i] for name in self.exact for i in (1, 2, 3))
        # A typo makes a word the glossary never uses: only spans holding such a word are
        # looked up fuzzily, which keeps typo matching cheap on a large corpus.
        self.entry_words = [frozenset(tokens(" ".join([e.term, *e.aliases, e.definition]))) for e in entries]
        self.vocabulary = frozenset().union(*self.entry_words)
        self.name_words = frozenset(w for e in entries for name in (e.term, *e.aliases) for w in tokens(name))
        self.proper_words = frozenset(w for w in self._proper_words(entries) if not set(tokens(w)) <= self.name_words)
        # A name led by one letter and a hyphen ("k-means", "t-SNE"): that letter joined to another
        # word makes another name ("k-nearest", "t-test"), not this one.
        self.letter_heads: dict[str, dict[str, int]] = {}  # letter -> word after it -> entry
        for position, entry in enumerate(entries):
            for name in names_of(entry):
                for letter, rest in _LETTER_HEAD.findall(name.casefold()):
                    self.letter_heads.setdefault(letter, {}).setdefault(rest, position)
        self.words_by_letter: dict[str, list[str]] = {}
        for word in sorted(self.vocabulary):
            self.words_by_letter.setdefault(word[0], []).append(word)

    @staticmethod
    def _proper_words(entries: list[Entry]) -> frozenset[str]:
        """Words the definitions write only with a capital past a sentence's first word: names of
        things (Adam, ReLU, XGBoost, L1) that have no entry of their own when no name holds them."""
        capital, lower = set(), set()
        for entry in entries:
            for sentence in split_sentences(entry.definition):
                for word in re.findall(r"[A-Za-z][\w-]*", sentence)[1:]:
                    (capital if any(c.isupper() for c in word) else lower).add(word.casefold())
        return frozenset(w for w in capital - lower if len(w) >= 2 and any(c.isalpha() for c in w))

    @staticmethod
    def variants(entry: Entry) -> dict[str, str]:
        """Every normalized name of an entry -> that name as the glossary writes it: the term and
        aliases whole, without their parenthesis and the parenthesis alone ("lstm" -> "LSTM"),
        each also in the plural or singular ("k mean" -> "K-means")."""
        names: dict[str, str] = {}
        for name in names_of(entry):
            names.setdefault(normalize_name(name), name)
            outer = re.sub(r"\([^)]*\)", " ", name)
            if normalize_name(outer):
                names.setdefault(normalize_name(outer), " ".join(outer.split()))
            for inner in re.findall(r"\(([^)]*)\)", name):
                if normalize_name(inner):
                    names.setdefault(normalize_name(inner), inner.strip())
        for name, written in list(names.items()):
            if len(name) > 3:
                names.setdefault(name[:-1] if name.endswith("s") else name + "s", written)
        return {name: written for name, written in names.items() if name and name not in STOPWORDS}

    def mentions(self, words: list[str], fuzzy: bool = True) -> list[Mention]:
        """Longest non-overlapping name spans in the tokenized question; at each length an exact
        match beats a fuzzy one (typos are looked for only when `fuzzy`)."""
        found: list[Mention] = []
        covered = [False] * len(words)
        # Only a span holding a word the glossary never uses can be a typo, and only one holding
        # no stopword (a typo slips letters, not words: "dropout on later" is no "dropout layer");
        # both counted as prefix sums.
        strange, stops = [0], [0]
        for w in words:
            strange.append(strange[-1] + (w not in self.vocabulary))
            stops.append(stops[-1] + (w in STOPWORDS))
        passes = (True, False) if fuzzy and strange[-1] else (True,)
        for n in range(min(self.longest + 1, len(words)), 0, -1):
            for exact_pass in passes:
                for start in range(0, len(words) - n + 1):
                    end = start + n
                    if exact_pass:
                        if words[start][:3] not in self.heads:
                            continue
                    elif strange[end] == strange[start] or stops[end] != stops[start]:
                        continue
                    elif n > 1 and any(map(self._lone_letter, (words[start], words[end - 1]))):
                        continue  # a lone letter no name opens with is no part of a typo: "what r cnns" is no "rnns"
                    if found and any(covered[start:end]):
                        continue
                    gram = " ".join(words[start:end])
                    if exact_pass:
                        position = self.exact.get(gram)
                        if position is None and n > 1 and not self._lone_letter(words[start]):
                            position = self.exact.get(_squash(gram))  # "k means", "auto encoder"; not "r nns"
                        score, name = 1.0, ""
                    else:
                        position, score, name = self._fuzzy(_squash(gram))
                    if position is None:
                        continue
                    found.append(Mention(position, start, start + n, score, gram, name))
                    covered[start : start + n] = [True] * n
        # "supervised and unsupervised learning": a word joined to a name shares the name's last
        # words, when that makes another name.
        for m in list(found):
            before = m.start - 2
            if m.end - m.start >= 2 and before >= 0 and words[m.start - 1] in ("and", "or", "vs", "versus") and not covered[before]:
                gram = " ".join([words[before], *words[m.start + 1 : m.end]])
                position = self.exact.get(gram)
                if position is not None and position != m.entry:
                    found.append(Mention(position, before, before + 1, 1.0, gram))
                    covered[before] = True
        return sorted(found, key=lambda m: m.start)

    def _lone_letter(self, word: str) -> bool:
        """A one-letter word no name opens with ("r" in "what r cnns"): no part of a name."""
        return len(word) == 1 and word not in self.letter_heads

    def respelled(self, text: str, mentions: list[Mention], whole_words: frozenset[str]) -> str | None:
        """The question with each misspelt name written as the glossary writes it ("wat is deap
        lerning?" -> "wat is Deep Learning?"); None when no name is misspelt. The model reads a
        typo as pieces of other words, so its vector strays from the entry the student means.
        A name is taken for misspelt only where a word of it is one the glossary never uses and
        the model reads as pieces, with or without its ending (not in `whole_words`): "baking",
        "convert" and "tosses" are words of their own, not "bagging", "convnet" or "t-SNEs"; and
        "convolutional" is the glossary's own word, however the model splits it. (Other words are
        left as typed: a word the model splits is more often rare than misspelt, "compress",
        "denoise", and respelling those moved answers both ways.)"""
        spans = [m.span() for m in _TOKEN.finditer(text)]
        folded = text.casefold()
        if len(spans) != len(_TOKEN.findall(folded)):  # casefolding split or joined a word: offsets of the folded text
            text, spans = folded, [m.span() for m in _TOKEN.finditer(folded)]

        def typo(i: int) -> bool:
            word = text[slice(*spans[i])].casefold()
            return word not in self.vocabulary and not _whole(word, whole_words)

        fixes = sorted((m for m in mentions if m.score < 1.0 and m.name and m.end <= len(spans)
                        and any(typo(i) for i in range(m.start, m.end))), key=lambda m: m.start, reverse=True)
        if not fixes:
            return None
        out = text
        for m in fixes:
            end = spans[m.end - 1][1]
            if m.name.endswith(")") and out[end:].lstrip().startswith(")"):  # "(svm)" typed after the name: it is in the name
                end += len(out[end:]) - len(out[end:].lstrip()) + 1
            out = out[: spans[m.start][0]] + m.name + out[end:]
        return out

    def other_compound(self, phrase: str) -> tuple[str, set[int]] | None:
        """The letter-hyphen compound opening `phrase` when it shares its letter with a name's
        ("k-nearest", "t-test" beside "k-means", "t-SNE") but not its word, nor a slip of it
        (one letter changed, added, dropped or two swapped, two in a word over five letters:
        "k-maens", not "k-medians"); with the entries whose names it shares the letter with."""
        text = phrase.casefold()
        match = _LETTER_HEAD.match(text)
        if match is not None:
            letter, rest = match.groups()
            known = self.letter_heads.get(letter)
            if not known or self._slip_of(rest, known):
                return None
            return f"{letter}-{rest}", set(known.values())
        # Written with spaces, a letter is often a count ("k clusters", "how does k affect cluster
        # quality") or a word ("u need dropout"): only two words, neither a stopword, the second
        # one the glossary never writes, make another name ("k nearest neighbours").
        match = _LETTER_WORDS.match(text)
        if match is None:
            return None
        letter, first, second = match.groups()
        known = self.letter_heads.get(letter)
        if not known or first in STOPWORDS or second in STOPWORDS or self._slip_of(first, known):
            return None
        if second in self.vocabulary:
            return None
        return f"{letter} {first} {second}", set(known.values())

    @staticmethod
    def _slip_of(word: str, known) -> bool:
        return any(OSA.distance(word, name) <= (1 if len(name) <= 5 else 2) for name in known)

    def known_word(self, word: str) -> bool:
        """A word the glossary uses, or a typo of one (same first letter, similar spelling)."""
        if word in self.vocabulary:
            return True
        if len(word) < 5:
            return False
        return process.extractOne(word, self.words_by_letter.get(word[0], []), scorer=fuzz.ratio, score_cutoff=80.0) is not None

    def _fuzzy(self, squashed: str) -> tuple[int | None, float, str]:
        """A typo of a name: same first two letters (or first and third), length within two,
        similarity above a cutoff; or, where a similarity scores short names too low, slips (see
        `_slip`: up to five letters two swapped or one added, "ltsm"; up to seven two slips,
        "bagign"). A long name may also be shortened or lengthened by a third ("recurent neural
        net"), if its first three letters stay: those buckets are small, so the cost stays flat at
        any size."""
        if len(squashed) < 4:
            return None, 0.0, ""
        cutoff = 80.0 if len(squashed) < 10 else 84.0
        slips = 1 if len(squashed) <= 5 else 2 if len(squashed) <= 7 else 0
        reach = len(squashed) // 3 if len(squashed) >= 10 else 2
        best: tuple[float, int, str] | None = None
        # Near lengths: names starting with the same two letters, or with the first and third
        # (the second letter swapped or slipped in: "ltsm", "lsstm" for "lstm"; names of six
        # letters or more are also filed under their first and third, for a dropped second).
        heads = dict.fromkeys([squashed[:2], squashed[0] + squashed[2]])
        for length in range(len(squashed) - reach, len(squashed) + reach + 1):
            near = abs(length - len(squashed)) <= 2
            for key in heads if near else [squashed[:3]]:
                bucket = self.buckets.get((key, length))
                if bucket is None:
                    continue
                found = process.extractOne(squashed, bucket[0], scorer=fuzz.ratio, score_cutoff=cutoff)
                if found is None and abs(length - len(squashed)) <= slips:
                    found = self._slip(squashed, bucket[0], slips)
                if found is not None and (best is None or found[1] > best[0]):
                    best = (found[1], bucket[1][found[2]], found[0])
        if best is None:
            return None, 0.0, ""
        return best[1], best[0] / 100.0, self.written.get(best[2], best[2])


    @staticmethod
    def _slip(typed: str, names: list[str], slips: int) -> tuple[str, float, int] | None:
        """The first name `typed` is a slip of. Up to five letters only two letters swapped or
        one added count ("ltsm", "lsstm" for "lstm"): a changed or dropped letter turns too many
        everyday words into names ("logs", "lost" for "loss")."""
        for position, name in enumerate(names):
            if OSA.distance(typed, name, score_cutoff=slips) > slips:
                continue
            if slips == 1 and not (len(typed) == len(name) + 1 or (len(typed) == len(name) and sorted(typed) == sorted(name))):
                continue
            return name, SLIP_SCORE, position
        return None


@dataclass
class EntryEvidence:
    """Why an entry ranks where it does."""

    entry: int
    score: float = 0.0
    dense: float = 0.0  # best cosine of the question with one of the entry's sentences
    whole: float = 0.0  # cosine of the question with the whole entry
    top2: float = 0.0  # mean cosine of the entry's two best sentences
    asked: float = 0.0  # best cosine of the question with one of the entry's example questions
    lexical: float = 0.0  # BM25, relative to the best entry for this question
    name: float = 0.0  # 1.0 when the question names the entry, less for a typo
    means_for: int | None = None  # the named entry whose place this one took (see Retriever.rank)
    chunk_scores: dict[int, float] = field(default_factory=dict)  # chunk position -> cosine


@dataclass
class Weights:
    """Fusion weights, chosen by measurement on the dev set (README, "Answer quality")."""

    whole: float = 0.25
    top2: float = 0.5
    lexical: float = 0.3
    # No weight for naming an entry: that is decisive where the question is about the name ("what
    # is X", "X vs Y", a bare name: see answer.py), while elsewhere the name is often only the
    # object of the question ("how do I minimize a loss function?"); measured best at zero.
    hub: float = 0.5  # penalty for entries close to many others (hubness), so specific entries win
    # An example question of the entry (`Asked:`) close to the question: its cosine above the
    # floor (below it, any two questions share that much) counts this much. Swept over all the
    # labelled sets (README): 1.5 above 0.30 before; 2.5-4.0 above 0.40-0.45 all do better.
    asked: float = 3.5
    asked_floor: float = 0.45
    means_margin: float = 0.15  # see Retriever._yield_to_means
    means_asked: float = 0.5

    def scale(self, asked: bool = True) -> float:
        """The most a score can reach (with example questions, or without any in the corpus):
        dividing by it shows scores on a 0-1 scale."""
        return 1.0 + self.whole + self.top2 + self.lexical + (self.asked * (1.0 - self.asked_floor) if asked else 0.0)
    dense_k: int = 64


class Retriever:
    def __init__(self, entries: list[Entry], index: VectorIndex, weights: Weights | None = None):
        self.entries = entries
        self.index = index
        self.weights = weights or Weights()
        self.names = NameTable(entries)
        position = {entry.id: i for i, entry in enumerate(entries)}
        self.chunk_entry = np.array([position[c.entry_id] for c in index.chunks], dtype=np.int64)
        self.sentence_chunks: dict[int, list[int]] = {}
        self.asked_chunks: dict[int, list[int]] = {}  # its example questions
        self.whole_chunk: dict[int, int] = {}  # its whole-entry chunk
        for chunk_position, (chunk, entry_position) in enumerate(zip(index.chunks, self.chunk_entry)):
            if chunk.kind == "sentence":
                self.sentence_chunks.setdefault(int(entry_position), []).append(chunk_position)
            elif chunk.kind == "asked":
                self.asked_chunks.setdefault(int(entry_position), []).append(chunk_position)
            else:
                self.whole_chunk[int(entry_position)] = chunk_position
        # For `_dense`: chunk positions grouped by entry (entry e's are
        # _by_entry[_start[e]:_start[e + 1]], in chunk order), and each chunk's kind.
        self._by_entry = np.argsort(self.chunk_entry, kind="stable")
        self._start = np.searchsorted(self.chunk_entry[self._by_entry], np.arange(len(entries) + 1))
        self._kind = np.array([_KINDS.get(c.kind, _WHOLE) for c in index.chunks], dtype=np.int8)
        self.scale = self.weights.scale(asked=bool(self.asked_chunks))  # shown scores are score / scale
        self.entry_words = self.names.entry_words  # each entry's words (term, aliases, definition)
        self.named_by, self.genus = self._links()
        self.spelled_out = self._spelled_out()
        self.opposites = self._opposites()
        self.linked = self._linked()
        self.hubness = self._hubness(self.whole_chunk)
        documents = [" ".join([e.term, *e.aliases, e.definition]) for e in entries]
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(documents, stopwords="en", show_progress=False), show_progress=False)

    def uses(self, entry: int, word: str) -> bool:
        """Whether the entry's term, aliases or definition use the word (or its singular)."""
        known = self.entry_words[entry]
        return word in known or word.rstrip("s") in known

    def _linked(self) -> dict[int, set[int]]:
        """entry -> the entries its "See also" links to, and those linking to it (the glossary
        editor's own relations)."""
        by_name = {normalize_name(name): i for i, entry in enumerate(self.entries) for name in names_of(entry)}
        linked: dict[int, set[int]] = {}
        for position, entry in enumerate(self.entries):
            for name in entry.see_also:
                other = by_name.get(normalize_name(name))
                if other is not None and other != position:
                    linked.setdefault(position, set()).add(other)
                    linked.setdefault(other, set()).add(position)
        return linked

    def _links(self) -> tuple[dict[int, set[int]], dict[int, int]]:
        """From one reading of each definition (exact names only): entry -> the entries whose
        definitions name it; and entry -> the entry its definition opens by saying it is a kind of
        ("Gradient descent is an optimization algorithm ...", "K-means is a popular clustering
        algorithm ..."), a name within five words after its first "is" or "are"."""
        named_by: dict[int, set[int]] = {}
        genus: dict[int, int] = {}
        for position, entry in enumerate(self.entries):
            words = tokens(entry.definition)
            verb = next((i for i, w in enumerate(words[:12]) if w in ("is", "are")), None)
            for mention in self.names.mentions(words, fuzzy=False):
                if mention.entry == position:
                    continue
                named_by.setdefault(mention.entry, set()).add(position)
                if verb is not None and position not in genus and verb < mention.start and mention.end <= verb + 6:
                    genus[position] = mention.entry
        return named_by, genus

    def _spelled_out(self) -> dict[str, str]:
        """Initialisms of the kinds of entries that definitions list ("Common optimization
        algorithms include gradient descent, stochastic gradient descent, and Adam": "sgd"), a
        word and an entry's name of two words or more, when the initialism is no name or word of
        the glossary's. Only list items: "common loss functions" opening a sentence is none."""
        spelled: dict[str, str] = {}
        for entry in self.entries:
            for match in _LIST_ITEM.finditer(entry.definition.casefold()):
                words = tokens(match.group(1))
                if len(words) >= 3 and words[0] not in STOPWORDS and " ".join(words[1:]) in self.names.exact:
                    initials = "".join(w[0] for w in words)
                    if initials not in self.names.exact and initials not in self.names.vocabulary:
                        spelled.setdefault(initials, " ".join(words))
        return spelled

    def _opposites(self) -> dict[int, set[int]]:
        """entry -> the entries whose name is its own with another opposing prefix (Overfitting
        and Underfitting, Supervised and Unsupervised Learning)."""
        by_stem: dict[str, set[int]] = {}
        for position, entry in enumerate(self.entries):
            by_stem.setdefault(unprefixed(entry.term), set()).add(position)
        return {e: group - {e} for group in by_stem.values() if len(group) > 1 for e in group}

    def _hubness(self, whole: dict[int, int], k: int = 5, reference_size: int = 2000) -> np.ndarray:
        """Mean cosine of each entry with its k nearest other entries: broad entries ("Neural
        Networks", "Ensemble Learning") sit near many others and would otherwise win every
        question that touches their field. Past `reference_size` entries the neighbours are
        looked for in a fixed random sample, so the cost stays linear in the corpus."""
        import faiss

        hub = np.zeros(len(self.entries), dtype=np.float32)
        if len(whole) < 2:
            return hub
        order = sorted(whole)
        vectors = self.index.vectors_for([whole[e] for e in order])
        reference = np.arange(len(order))
        if len(order) > reference_size:
            reference = np.sort(np.random.default_rng(0).choice(len(order), reference_size, replace=False))
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors[reference])
        sims, ids = flat.search(vectors, min(k + 1, len(reference)))
        for row, entry in enumerate(order):
            others = [s for s, i in zip(sims[row], ids[row]) if i >= 0 and reference[i] != row][:k]
            hub[entry] = float(np.mean(others)) if others else 0.0
        return hub

    def lexical(self, question: str, candidates: list[int]) -> dict[int, float]:
        """BM25 scores of the candidate entries only (looked up in bm25s's postings), so the cost
        does not grow with the corpus."""
        vocab = self.bm25.vocab_dict
        token_ids = {vocab[w] for w in bm25_words(question) if w in vocab}
        if not token_ids or not candidates:
            return {}
        matrix = self.bm25.scores
        docs = np.asarray(candidates, dtype=np.int64)
        scores = np.zeros(len(docs), dtype=np.float64)
        for token in token_ids:
            start, end = int(matrix["indptr"][token]), int(matrix["indptr"][token + 1])
            postings = matrix["indices"][start:end]
            at = np.searchsorted(postings, docs)
            hit = at < len(postings)
            hit[hit] = postings[at[hit]] == docs[hit]
            scores[hit] += matrix["data"][start + at[hit]]
        return {int(d): float(v) for d, v in zip(docs, scores) if v > 0}

    def mentioned_in(self, phrase: str, limit: int = 3) -> list[tuple[int, str]]:
        """Entries whose definitions mention a phrase that is not an entry of its own ("xgboost",
        "relu", "l2 regularization"), with the sentence that mentions it; none when more than
        `limit` do (a phrase that common says nothing of where to look). An initialism of a
        phrase they name ("sgd") is looked up spelled out."""
        found = self.passages(self.spelled_out.get(phrase.strip(), phrase), limit + 1)
        return found if len(found) <= limit else []

    def passages(self, phrase: str, most: int) -> list[tuple[int, str]]:
        """Up to `most` entries whose definitions hold `phrase`, each with the first sentence that
        does. The candidates come from bm25s's postings (entries holding every word), so rare
        phrases cost little, and the scan stops at `most`."""
        words = bm25_words(phrase)
        if not words or any(w not in self.bm25.vocab_dict for w in words):
            return []
        matrix = self.bm25.scores
        holders: set[int] | None = None
        for w in words:
            token = self.bm25.vocab_dict[w]
            docs = set(matrix["indices"][int(matrix["indptr"][token]) : int(matrix["indptr"][token + 1])].tolist())
            holders = docs if holders is None else holders & docs
            if not holders:
                return []
        pattern = re.compile(r"\b" + r"\W+".join(map(re.escape, phrase.split())) + r"\b", re.IGNORECASE)
        found = []
        chunks = self.index.chunks
        for entry in sorted(holders):
            for position in self.sentence_chunks.get(entry, []):
                if pattern.search(chunks[position].text):
                    found.append((entry, chunks[position].text))
                    break
            if len(found) >= most:
                break
        return found

    def rank(self, question: str, vector: np.ndarray, mentions: list[Mention], means: bool = False,
             opposite: bool = False, alternative: bool = False) -> list[EntryEvidence]:
        """Candidates from the vectors, the words and the names; each scored on all its sentences.
        When the question asks for a means (`means`), an entry it names yields its place to the
        best entry whose definition names it: "how do i minimize a loss function?" wants Gradient
        Descent, whose definition names the loss function, not the Loss Function entry. Unless it
        asks for an opposite (`opposite`) or for an alternative (`alternative`: "which optimizer
        instead of gradient descent?"), a named entry stays before its opposite, and neither its
        opposite nor what it is a kind of takes its place."""
        weights = self.weights
        _, ids = self.index.search(vector.reshape(1, -1), weights.dense_k)
        found = self.chunk_entry[ids[0][ids[0] >= 0]]
        _, first = np.unique(found, return_index=True)
        evidence = {entry: EntryEvidence(entry) for entry in found[np.sort(first)].tolist()}  # nearest first
        for mention in mentions:
            item = evidence.setdefault(mention.entry, EntryEvidence(mention.entry))
            item.name = max(item.name, mention.score)
        items = list(evidence.values())
        lexical = self.lexical(question, list(evidence))
        top_lexical = max(lexical.values(), default=0.0)
        for entry, score in lexical.items():
            evidence[entry].lexical = score / top_lexical
        dense, top2, whole, asked, cosines = self._dense(list(evidence), vector)
        lexical_scores = np.array([item.lexical for item in items])
        scores = (dense + weights.whole * whole + weights.top2 * top2 + weights.lexical * lexical_scores
                  + weights.asked * np.maximum(0.0, asked - weights.asked_floor)
                  - weights.hub * self.hubness[list(evidence)].astype(np.float64))
        for item, *values in zip(items, dense.tolist(), top2.tolist(), whole.tolist(), asked.tolist(), scores.tolist()):
            item.dense, item.top2, item.whole, item.asked, item.score = values
            item.chunk_scores = cosines  # every candidate's chunks: each entry reads its own
        if means:
            self._yield_to_means(evidence, mentions, kin=alternative)
        if not (opposite or alternative):
            self._named_over_opposite(evidence, mentions)
        return sorted(evidence.values(), key=lambda e: e.score, reverse=True)

    def _named_over_opposite(self, evidence: dict[int, EntryEvidence], mentions: list[Mention]) -> None:
        """An entry named exactly keeps its place before its unnamed opposite ("my model underfits
        badly, what can i do?" is about Underfitting, however close an example question of
        Overfitting is), unless the question asks for the opposite."""
        named = {m.entry for m in mentions if m.score >= 1.0}
        for entry in named:
            for other in self.opposites.get(entry, ()):
                if other in evidence and other not in named and evidence[other].score > evidence[entry].score:
                    evidence[entry].score, evidence[other].score = evidence[other].score, evidence[entry].score

    def _yield_to_means(self, evidence: dict[int, EntryEvidence], mentions: list[Mention], kin: bool = False) -> None:
        """A named entry and the best entry related to it (its definition names it, or a See also
        links them) trade places: "what controls how big gradient descent's steps are?" wants
        Learning Rate. When the question names related entries too, the best of those takes the
        place ("how do i choose the step size for gradient descent?"). Otherwise the named entry
        keeps its place when its own definition names the best ("overfitting can be mitigated by
        regularization"), or when the best bears on the question much less than it does. What it
        is a kind of and its opposite take no place of it, unless `kin` (the question asks for an
        alternative to it)."""
        named = {m.entry for m in mentions}
        for entry in named:
            related = [e for e in self.named_by.get(entry, set()) | self.linked.get(entry, set())
                       if e in evidence and evidence[e].means_for is None  # one place each
                       and (kin or e != self.genus.get(entry) and e not in self.opposites.get(entry, ()))]
            if not related:
                continue
            said = [e for e in related if e in named]
            best = max((evidence[e] for e in said or related), key=lambda e: e.score)
            item = evidence[entry]
            # Unnamed, it must bear on the question nearly as much as the named one, or have an
            # example question close to it: "how many folds should i use for cross validation" is
            # no question about Overfitting, whose definition names cross-validation.
            bears = best.dense >= item.dense - self.weights.means_margin or best.asked >= self.weights.means_asked
            if not said and (entry in self.named_by.get(best.entry, ()) or not bears):
                continue
            if best.score < item.score:
                best.score, item.score = item.score, best.score
                best.means_for = entry

    def entry_similarity(self, entry: int, vector: np.ndarray, item: EntryEvidence | None = None) -> float:
        """Cosine of the question with each chunk of one entry (kept in item.chunk_scores); returns
        the best sentence's."""
        item = item if item is not None else EntryEvidence(entry)
        dense, top2, whole, asked, item.chunk_scores = self._dense([entry], vector)
        item.top2, item.whole, item.asked = float(top2[0]), float(whole[0]), float(asked[0])
        return float(dense[0])

    def _dense(self, entries: list[int], vector: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[int, float]]:
        """The entries' dense evidence, one array each, from the question's cosine with every
        chunk of theirs (all read in one lookup): best sentence, mean of the best two, the whole
        entry, best example question (0 without one); and the cosines (chunk position -> cosine).
        An entry with no sentence chunk counts its whole entry as its one sentence."""
        count = len(entries)
        start = self._start
        parts = [self._by_entry[start[e] : start[e + 1]] for e in entries]
        positions = np.concatenate(parts) if parts else _NONE
        cos = (self.index.vectors_for(positions) @ vector.reshape(-1)).astype(np.float64)
        owner = np.repeat(np.arange(count), [len(p) for p in parts])
        kind = self._kind[positions]
        whole = np.zeros(count)
        at = kind == _WHOLE
        whole[owner[at]] = cos[at]
        asked = np.full(count, -np.inf)
        at = kind == _ASKED
        np.maximum.at(asked, owner[at], cos[at])
        asked[np.isneginf(asked)] = 0.0
        at = kind == _SENTENCE
        owners, values = owner[at], cos[at]
        order = np.lexsort((-values, owners))  # by entry, best sentence first
        owners, values = owners[order], values[order]
        counts = np.bincount(owners, minlength=count)
        starts = np.searchsorted(owners, np.arange(count))
        best = np.where(counts > 0, values[np.minimum(starts, len(values) - 1)] if len(values) else 0.0, whole)
        second = values[np.minimum(starts + 1, len(values) - 1)] if len(values) else np.zeros(count)
        top2 = np.where(counts > 1, (best + second) / 2, best)
        return best, top2, whole, asked, dict(zip(positions.tolist(), cos.tolist()))
