"""The shapes every stage passes on: entry, chunk, hit, citation, answer, index manifest.

One pydantic module at the bottom of the package; every other module imports from here."""
from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def content_hash(*parts: str, length: int = 16) -> str:
    """A short, stable id for a piece of content (sha256 of its parts)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


class Source(BaseModel):
    """Where a piece of text lives: a file relative to the corpus folder and a 1-based line."""

    model_config = ConfigDict(frozen=True)
    file: str
    line: int = Field(ge=1)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Entry(BaseModel):
    """One glossary entry, validated: a term, its definition and what helps find it."""

    term: str = Field(min_length=1, max_length=200)
    definition: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    see_also: list[str] = Field(default_factory=list)
    # Spans of `definition` written by course staff to complete sentences the source cut short.
    completed: list[str] = Field(default_factory=list)
    glossary: str = Field(min_length=1)
    source: Source
    # Where the text itself came from when it was copied from elsewhere (e.g. the seed page).
    origin: str | None = None
    # Questions students ask that this entry answers, in their words ("why does my model ace the
    # training data and flop on new data?"): found by meaning, never quoted.
    asked: list[str] = Field(default_factory=list)

    @field_validator("term", "definition", "glossary")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = " ".join(value.split()) if "\n" not in value else value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("aliases", "see_also", "asked")
    @classmethod
    def _clean_list(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            value = " ".join(str(value).split())
            if value and value not in out:
                out.append(value)
        return out

    @property
    def id(self) -> str:
        return content_hash("entry", self.term.casefold())


ChunkKind = Literal["sentence", "entry", "asked"]


class Chunk(BaseModel):
    """A piece of an entry that gets its own vector. `text` is what is quoted (for sentences an
    exact substring of the entry's definition; an "asked" chunk, an example question, is never
    quoted); `embed_text` is what the model sees."""

    id: str
    entry_id: str
    kind: ChunkKind
    text: str
    embed_text: str


class Citation(BaseModel):
    """One cited entry in an answer, best first."""

    term: str
    glossary: str
    source: str  # "file:line"
    score: float
    quotes: list[str] = Field(default_factory=list)  # exact substrings of the entry's definition
    definition: str = ""


class Answer(BaseModel):
    """What the front door returns for one question."""

    question: str
    answered: bool
    answer: str  # markdown
    citations: list[Citation] = Field(default_factory=list)
    reading: str | None = None  # how a follow-up was read ("what problem does LSTM solve?")
    suggestions: list[str] = Field(default_factory=list)  # terms to try next (the app's buttons): nearest when refused, else the unsure pair, related or See also
    related: list[str] = Field(default_factory=list)  # the next entries an answer names after its quotes ("Related: ...")
    error: str | None = None  # set when the question itself was unusable
    no_entry: str | None = None  # what was asked about when it has no entry, only a mention in a definition ("xgboost")


class IndexManifest(BaseModel):
    """Written beside the FAISS file; checked on every load."""

    format: int = 1
    model: str
    dimension: int
    chunk_count: int
    entry_count: int
    corpus_hash: str
    corpus_files: dict[str, str]  # relative file -> sha256 of its bytes
    index_type: str
    faiss_file: str
    chunks_file: str
    faiss_sha256: str
    chunks_sha256: str
    versions: dict[str, str]
    built_at: str
