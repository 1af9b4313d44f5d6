"""Entries -> chunks: one chunk per sentence, one per whole entry, one per example question.

A sentence chunk's `text` is an exact substring of its entry's definition (that is what gets
quoted); `embed_text` prefixes the term so that "It happens when..." still says what "it" is.
An example question ("asked") is embedded as written: it is matched against questions."""
from __future__ import annotations

import re

from .types import Chunk, Entry, content_hash

# A sentence ends at . ! or ? followed by space and a capital, digit or opening bracket/quote,
# unless the period belongs to a common abbreviation.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "al.", "approx.", "Fig.", "Eq.", "No.")


def split_sentences(text: str) -> list[str]:
    """Split a definition into sentences; each returned string is an exact substring of `text`."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.start()]
        if candidate.endswith(_ABBREVIATIONS):
            continue
        if candidate.strip():
            sentences.append(candidate.strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    # Paragraph breaks always end a sentence.
    return [part.strip() for sentence in sentences for part in sentence.split("\n\n") if part.strip()]


def names_of(entry: Entry) -> list[str]:
    """The term and its aliases, as a person would type them."""
    return [entry.term, *entry.aliases]


def chunk_entry(entry: Entry) -> list[Chunk]:
    chunks: list[Chunk] = []

    def add(kind: str, text: str, embed_text: str) -> None:
        chunk_id = content_hash(kind, entry.term, embed_text)
        chunks.append(Chunk(id=chunk_id, entry_id=entry.id, kind=kind, text=text, embed_text=embed_text))

    for sentence in split_sentences(entry.definition):
        add("sentence", sentence, f"{entry.term}: {sentence}")
    add("entry", entry.definition, f"{entry.term}: {entry.definition}")
    for question in entry.asked:
        add("asked", question, question)
    return chunks


def chunk_entries(entries: list[Entry]) -> list[Chunk]:
    return [chunk for entry in entries for chunk in chunk_entry(entry)]
