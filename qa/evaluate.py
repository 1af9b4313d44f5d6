"""Labelled questions -> hit@1, recall@3, MRR, refusal rates; for the bot and two baselines
(BM25 over whole definitions; plain dense retrieval, one vector per definition, no refusal)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np
from pydantic import BaseModel, Field, ValidationError

from .bot import Bot
from .errors import QAError
from .ingest import normalize_name

BAR = {"hit@1": 0.95, "recall@3": 0.99, "mrr": 0.97, "oos_refused": 0.95, "in_scope_refused_max": 0.02}


class Item(BaseModel):
    question: str
    terms: list[str] = Field(default_factory=list)  # acceptable at rank 1; [] = out of scope
    kind: str = ""
    history: list[str] = Field(default_factory=list)


def read_items(path: Path) -> list[Item]:
    items = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read question set {path}: {exc}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(Item.model_validate_json(line))
        except ValidationError as exc:
            raise QAError(f"{path}:{number}: {exc.errors()[0]['msg']}") from None
    return items


@dataclass
class Outcome:
    item: Item
    answered: bool
    ranked: list[str]  # offered terms, best first: cited, then related (nearest terms when refused)
    cited: int | None = None  # how many of them are citations (None: all)


@dataclass
class Report:
    name: str
    outcomes: list[Outcome]
    figures: dict[str, float] = field(default_factory=dict)

    def misses(self) -> list[Outcome]:
        out = []
        for o in self.outcomes:
            ok_terms = {normalize_name(t) for t in o.item.terms}
            if ok_terms:
                if not (o.answered and o.ranked and normalize_name(o.ranked[0]) in ok_terms):
                    out.append(o)
            elif o.answered:
                out.append(o)
        return out


def score(name: str, outcomes: list[Outcome]) -> Report:
    in_scope = [o for o in outcomes if o.item.terms]
    out_scope = [o for o in outcomes if not o.item.terms]
    multi = [o for o in in_scope if o.item.history]

    def rank_of(o: Outcome) -> int | None:
        ok_terms = {normalize_name(t) for t in o.item.terms}
        for position, term in enumerate(o.ranked, start=1):
            if normalize_name(term) in ok_terms:
                return position
        return None

    def hit1(o: Outcome) -> bool:
        return o.answered and rank_of(o) == 1

    def mean(values) -> float:
        values = list(values)
        return float(np.mean(values)) if values else float("nan")

    figures = {
        "questions": len(outcomes),
        "in_scope": len(in_scope),
        "out_of_scope": len(out_scope),
        "hit@1": mean(hit1(o) for o in in_scope),
        "recall@3": mean((rank_of(o) or 99) <= 3 for o in in_scope),
        # the same over the citations alone, without the related terms named after them
        "recall@3_cited": mean((rank_of(o) or 99) <= min(3, len(o.ranked) if o.cited is None else o.cited) for o in in_scope),
        "mrr": mean(1.0 / r if (r := rank_of(o)) else 0.0 for o in in_scope),
        "oos_refused": mean(not o.answered for o in out_scope),
        "in_scope_refused": mean(not o.answered for o in in_scope),
        "multi_turn_hit@1": mean(hit1(o) for o in multi) if multi else float("nan"),
        "multi_turn": len(multi),
    }
    return Report(name, outcomes, figures)


def run_bot(bot: Bot, items: list[Item]) -> Report:
    outcomes = []
    for item in items:
        answer = bot.ask(item.question, item.history)
        cited = [c.term for c in answer.citations]
        outcomes.append(Outcome(item, answer.answered, cited + [t for t in answer.related if t not in cited], len(cited)))
    return score("bot", outcomes)


def run_baselines(bot: Bot, items: list[Item]) -> list[Report]:
    """Same entries, same model: BM25 over whole definitions, and one dense vector per definition."""
    entries = bot.entries
    documents = [f"{e.term} {e.definition}" for e in entries]
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenize(documents, stopwords="en", show_progress=False), show_progress=False)
    doc_vectors = bot.embedder.encode(documents)
    questions = [i.question for i in items]
    q_vectors = bot.embedder.encode(questions)

    def bm25_rank(question: str) -> list[str]:
        query = bm25s.tokenize([question], stopwords="en", show_progress=False)
        if not query.ids or not len(query.ids[0]):
            return []
        docs, scores = bm25.retrieve(query, k=min(10, len(entries)), show_progress=False)
        return [entries[int(d)].term for d, s in zip(docs[0], scores[0]) if s > 0]

    def dense_rank(position: int) -> list[str]:
        sims = doc_vectors @ q_vectors[position]
        return [entries[int(i)].term for i in np.argsort(-sims)[:10]]

    lexical = [Outcome(item, bool(ranked := bm25_rank(item.question)), ranked) for item in items]
    dense = [Outcome(item, True, dense_rank(i)) for i, item in enumerate(items)]
    return [score("BM25 (whole definitions)", lexical), score("dense (one vector per definition)", dense)]


def render(reports: list[Report]) -> str:
    keys = ["hit@1", "recall@3", "mrr", "oos_refused", "in_scope_refused", "multi_turn_hit@1"]
    width = max(len(r.name) for r in reports) + 2
    lines = [f"{'':{width}}" + "".join(f"{k:>18}" for k in keys)]
    for r in reports:
        lines.append(f"{r.name:{width}}" + "".join(f"{r.figures[k]:>18.3f}" for k in keys))
    f = reports[0].figures
    lines.append(f"\n{f['questions']} questions: {f['in_scope']} in scope ({f['multi_turn']} multi-turn), {f['out_of_scope']} out of scope")
    lines.append(f"recall@3 ranks the citations, then the related terms an answer names; over the citations alone: {f['recall@3_cited']:.3f}")
    return "\n".join(lines)


def meets_bar(figures: dict[str, float]) -> list[str]:
    """The bar's failures, empty when every figure meets it."""
    failures = []
    for key in ("hit@1", "recall@3", "mrr", "oos_refused"):
        if not figures[key] >= BAR[key]:
            failures.append(f"{key} {figures[key]:.3f} < {BAR[key]}")
    if not figures["in_scope_refused"] <= BAR["in_scope_refused_max"]:
        failures.append(f"in_scope_refused {figures['in_scope_refused']:.3f} > {BAR['in_scope_refused_max']}")
    return failures
