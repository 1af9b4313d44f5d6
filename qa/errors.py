"""Errors a user can cause. Each carries what the user needs to fix it; the CLI and the app show
the message, never a traceback."""
from __future__ import annotations

from pathlib import Path


class QAError(Exception):
    """Base class: the message is written for the person at the keyboard."""


class CorpusError(QAError):
    """A glossary file cannot be read: names the file and, where it applies, the line."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class CorpusProblems(CorpusError):
    """Several glossary problems at once, one line each (file and line first)."""

    def __init__(self, problems: list[CorpusError], capped: bool = False):
        self.problems = problems
        first = problems[0]
        super().__init__(first.path, first.line, first.reason)
        count = f"the first {len(problems)}" if capped else str(len(problems))
        self.args = (f"{count} problems in the glossary files:\n" + "\n".join(str(p) for p in problems),)


class IndexError_(QAError):
    """Base for index problems (named so it does not shadow the builtin IndexError)."""


class MissingIndexError(IndexError_):
    pass


class CorruptIndexError(IndexError_):
    pass


class StaleIndexError(IndexError_):
    pass


class ModelError(QAError):
    """The embedding model cannot be loaded (bad name or path, no hub access)."""


class QuestionError(QAError):
    """A question that cannot be answered as given (empty, binary, ...)."""


class BusyError(QAError):
    """Too many questions are waiting: the caller should try again shortly."""
