"""Entries -> chunks: sentences, the whole entry, example questions."""
from __future__ import annotations

from qa.chunk import chunk_entry, split_sentences
from qa.types import Entry, Source


def test_example_questions_become_chunks_embedded_as_written():
    entry = Entry(term="Epoch", definition="One pass. It repeats.", asked=["why more than one pass?"],
                  glossary="g", source=Source(file="g.md", line=1))
    chunks = [(c.kind, c.text, c.embed_text) for c in chunk_entry(entry)]
    assert chunks == [
        ("sentence", "One pass.", "Epoch: One pass."),  # the term says what "It" is
        ("sentence", "It repeats.", "Epoch: It repeats."),
        ("entry", "One pass. It repeats.", "Epoch: One pass. It repeats."),
        ("asked", "why more than one pass?", "why more than one pass?"),  # matched against questions as a student wrote it
    ]


def test_sentences_are_exact_substrings_and_abbreviations_do_not_split():
    text = "Models, e.g. CNNs, learn features. They need data!\n\nA new paragraph (with 2 parts)."
    sentences = split_sentences(text)
    assert sentences == ["Models, e.g. CNNs, learn features.", "They need data!", "A new paragraph (with 2 parts)."]
    assert all(s in text for s in sentences)
