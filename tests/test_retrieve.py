"""The ranking maths of qa.retrieve against plain readings of what it computes."""
from __future__ import annotations

import bm25s
import numpy as np
import pytest

from qa.evaluate import read_items
from qa.ingest import load_corpus
from qa.retrieve import bm25_words

from conftest import ROOT


def test_bm25_words_are_what_bm25s_tokenize_makes_of_a_question():
    texts = [i.question for i in read_items(ROOT / "eval" / "dev.jsonl")] + [e.definition for e in load_corpus(ROOT / "corpus").entries]
    texts += ["", "  ", "I/O-bound t-SNE vs. PCA?!", "Ünïcode naïve café", "a b c 1 22 333", "<b>HTML</b> &amp; tags"]
    assert [bm25_words(t) for t in texts] == bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)


def plain_dense(retriever, entry: int, vector: np.ndarray) -> tuple[float, float, float, float]:
    """Best sentence, mean of the best two, whole entry, best example question: one chunk at a time."""
    own = [p for p, owner in enumerate(retriever.chunk_entry) if owner == entry]
    cosine = {p: float(retriever.index.vectors_for([p])[0] @ vector) for p in own}
    whole = cosine[retriever.whole_chunk[entry]]
    sentences = sorted((cosine[p] for p in retriever.sentence_chunks.get(entry, [])), reverse=True) or [whole]
    asked = max((cosine[p] for p in retriever.asked_chunks.get(entry, [])), default=0.0)
    return sentences[0], sum(sentences[:2]) / len(sentences[:2]), whole, asked


@pytest.mark.slow
@pytest.mark.parametrize("question", ["what fixes overfitting?", "how do I pick the number of clusters", "pasta recipe"])
def test_dense_evidence_of_many_entries_at_once_is_each_entrys_own(bot, question):
    retriever = bot.retriever
    vector = bot.encode(question)
    entries = [7, 0, 40, 3, 19]  # any order: each row is its entry's
    best, top2, whole, asked, cosines = retriever._dense(entries, vector)
    for row, entry in enumerate(entries):
        assert (best[row], top2[row], whole[row], asked[row]) == pytest.approx(plain_dense(retriever, entry, vector), abs=1e-6)
        assert {p for p, owner in enumerate(retriever.chunk_entry) if owner == entry} <= set(cosines)
    # One entry alone reads the same as among others (the answer composer asks for one at a time).
    item_best = retriever.entry_similarity(entries[2], vector)
    assert item_best == pytest.approx(best[2], abs=1e-9)


@pytest.mark.slow
def test_ranked_evidence_keeps_each_candidates_chunk_cosines(bot):
    vector = bot.encode("what fixes overfitting?")
    words = "what fixes overfitting".split()
    ranked = bot.retriever.rank("what fixes overfitting?", vector, bot.retriever.names.mentions(words))
    assert ranked and [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    for item in ranked:
        for p in bot.retriever.sentence_chunks[item.entry]:
            assert item.chunk_scores[p] == pytest.approx(float(bot.retriever.index.vectors_for([p])[0] @ vector), abs=1e-6)


def test_a_typo_slips_letters_not_words(bot):
    """A span with a stopword in it is no typo of a name: "dropout on later layers" names Dropout
    exactly, not "dropout layer" misspelt; a misspelt name still matches as one."""
    from qa.retrieve import tokens

    names = bot.retriever.names
    found = names.mentions(tokens("dropout on later layers"))
    assert [(m.text, bot.entries[m.entry].term, m.score) for m in found] == [("dropout", "Dropout", 1.0)]
    found = names.mentions(tokens("recurent neural net"))
    assert [bot.entries[m.entry].term for m in found] == ["Recurrent Neural Network (RNN)"] and found[0].score < 1.0


@pytest.mark.parametrize("typed, term", [("herarchical clustring", "Hierarchical Clustering"), ("rgularization", "Regularization"),
                                         ("ltsm", "Long Short-Term Memory (LSTM)"), ("dropuot", "Dropout")])
def test_a_typo_may_drop_swap_or_slip_the_second_letter(bot, typed, term):
    from qa.retrieve import tokens

    assert [bot.entries[m.entry].term for m in bot.retriever.names.mentions(tokens(typed))] == [term]


def test_a_letter_and_hyphen_before_another_word_is_another_name():
    from qa.retrieve import NameTable
    from qa.types import Entry, Source

    entries = [Entry(term=term, definition="A definition.", glossary="g", source=Source(file="g.md", line=n))
               for n, term in enumerate(["Language Model", "N-gram", "T-distributed noise"], start=1)]
    names = NameTable(entries)
    assert names.other_compound("n-queens puzzle") == ("n-queens", {1})
    assert names.other_compound("N\u2010Queens") == ("n-queens", {1})  # a hyphen pasted from a PDF
    assert names.other_compound("t-distributions") == ("t-distributions", {2})  # two letters more
    assert names.other_compound("N-gram model") is None  # the name itself
    assert names.other_compound("n-grams") is None  # a slip of it
    assert names.other_compound("t-distribued noise") is None
    assert names.other_compound("3-gram") is None and names.other_compound("x-ray") is None  # no name starts so
    assert names.other_compound("the n-queens puzzle") is None  # only a phrase opening with it
    # written with spaces: two words after the letter, not both the sharing entry's own words
    assert names.other_compound("n queens puzzle solver") == ("n queens puzzle", {1})
    assert names.other_compound("n gram model") is None and names.other_compound("n grams model") is None
    assert names.other_compound("t distributed noise") is None
    assert names.other_compound("n definition words") is None  # words of the N-gram entry's own
    assert names.other_compound("n of them") is None and names.other_compound("n layers") is None  # a count


def test_an_entry_that_opens_by_naming_its_kind_has_that_entry_as_its_genus(bot):
    retriever = bot.retriever
    genus = {retriever.entries[e].term: retriever.entries[g].term for e, g in retriever.genus.items()}
    assert genus["Gradient Descent"] == "Optimization Algorithm" and genus["K-means"] == "Clustering"
    assert genus["Dropout"] == "Regularization" and "Overfitting" not in genus


def test_misspelt_names_are_respelled_only_where_the_model_reads_a_word_as_pieces():
    from qa.retrieve import NameTable, tokens

    table = NameTable(load_corpus(ROOT / "corpus").entries)
    text = "Wat is deap lerning, and how does baking differ?"
    mentions = table.mentions(tokens(text))
    assert {m.name for m in mentions} == {"Deep Learning", "Bagging"}
    # written as the glossary writes the name; the rest of the question as typed
    assert table.respelled(text, mentions, frozenset({"wat", "is", "baking"})) == "Wat is Deep Learning, and how does baking differ?"
    # a word the model reads whole, or whose stem it does ("tosses": "toss"), is left as typed
    assert table.respelled(text, mentions, frozenset({"deap", "lerning", "baking"})) is None
    tosses = "coin tosses and probability"
    assert table.mentions(tokens(tosses))  # a fuzzy match of t-SNE's plural
    assert table.respelled(tosses, table.mentions(tokens(tosses)), frozenset({"coin", "toss", "and"})) is None
    exact = "what is deep learning"
    assert table.respelled(exact, table.mentions(tokens(exact)), frozenset()) is None
