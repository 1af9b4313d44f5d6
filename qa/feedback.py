"""The staff's feedback log: votes and refused questions, one JSON object a line.

Appends are whole lines under an exclusive lock (threads and processes), so no line is lost or
broken; past `max_bytes` the log is rotated to `<name>.1` (older copies shift up to `keep`).
Reading skips lines that are not valid records instead of failing."""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from .ingest import normalize_name

Kind = Literal["refused", "no entry", "down", "up"]  # "no entry": answered only from a passing mention


class FeedbackRecord(BaseModel):
    time: str
    kind: Kind
    question: str
    answer: str = ""
    terms: list[str] = []


@dataclass
class ReviewRow:
    question: str
    kind: str  # "refused", "no entry", "down", or several joined by "+"
    count: int
    last: str


class FeedbackLog:
    def __init__(self, path: Path, max_bytes: int = 10 * 1024 * 1024, keep: int = 5):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self._thread_lock = threading.Lock()

    def append(self, kind: Kind, question: str, answer: str = "", terms: list[str] | None = None) -> None:
        self.append_many([(kind, question, answer, terms)])

    def append_many(self, items: list[tuple[Kind, str, str, list[str] | None]]) -> None:
        """Append (kind, question, answer, terms) records as whole lines, under one lock."""
        if not items:
            return
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        lines = b"".join(
            (FeedbackRecord(time=now, kind=kind, question=question[:2000], answer=answer[:4000], terms=terms or []).model_dump_json() + "\n").encode("utf-8")
            for kind, question, answer, terms in items
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with self._thread_lock, open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if self.path.exists() and self.path.stat().st_size + len(lines) > self.max_bytes:
                    self._rotate()
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    size = os.fstat(fd).st_size
                    if size and os.pread(fd, 1, size - 1) != b"\n":
                        lines = b"\n" + lines  # a writer died mid-line: never glue onto its fragment
                    view = memoryview(lines)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                finally:
                    os.close(fd)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _rotate(self) -> None:
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def records(self) -> list[FeedbackRecord]:
        """Every readable record, oldest first, across rotated files; bad lines are skipped."""
        files = [self.path.with_name(f"{self.path.name}.{n}") for n in range(self.keep, 0, -1)] + [self.path]
        out: list[FeedbackRecord] = []
        for path in files:
            if not path.exists():
                continue
            with path.open("rb") as handle:
                for raw in handle:
                    try:
                        out.append(FeedbackRecord.model_validate_json(raw))
                    except (ValidationError, ValueError):
                        continue
        return out

    def review(self) -> list[ReviewRow]:
        """Unanswered, no-entry and down-voted questions, most frequent first: what staff should add."""
        counts: Counter[str] = Counter()
        kinds: dict[str, set[str]] = {}
        shown: dict[str, str] = {}
        last: dict[str, str] = {}
        for record in self.records():
            if record.kind == "up":
                continue
            key = normalize_name(record.question) or record.question
            counts[key] += 1
            kinds.setdefault(key, set()).add(record.kind)
            shown.setdefault(key, record.question)
            last[key] = record.time
        return [
            ReviewRow(question=shown[key], kind="+".join(sorted(kinds[key], reverse=True)), count=count, last=last[key])
            for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], last[kv[0]]))
        ]
