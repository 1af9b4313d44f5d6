"""One side of section 1 (question latency) in a process of its own:

    python -m benchmarks.latency bot ROOT VECTORS      the front door, `Bot.ask`, on ROOT's corpus
                                                       and index; writes the index's vectors to VECTORS
    python -m benchmarks.latency baseline VECTORS      sentence-transformers (torch) encode + FAISS
                                                       flat search over VECTORS
    python -m benchmarks.latency encode                the product's embedder alone (for section 2's
                                                       ceilings): the CPU a question's vector costs,
                                                       and questions a second

Each prints one JSON line once loaded, then reads JSON lines from stdin, each a list of questions,
and answers each with one JSON line: {"ms": [...], "answered": n}; `encode` answers
{"lone_cpu_ms", "batched_cpu_ms", "lone_qps", "batched_qps"}: the process's CPU time per question,
and questions a second of wall time, encoded one at a time and in batches of 32 (as the app encodes
waiting questions, on every core).

Why two processes: the app never imports torch, but in one process the two engines' thread pools
share two cores, and whichever ran last slows the other (in process, `bot.ask` measured 5.4-5.5
ms beside torch against 4.4-4.7 ms alone). The run alternates blocks of questions between the two
processes, so each runs while the other waits on its stdin."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np  # noqa: E402


def bot_side(root: Path, vectors_out: Path | None = None):
    """(what was loaded, ask): `Bot.ask` on ROOT's corpus and index; the index's vectors are
    written to `vectors_out`, if given, for the baseline."""
    from benchmarks.run import make_settings
    from qa.bot import Bot

    t = time.perf_counter()
    bot = Bot.load(make_settings(root, rebuild="auto"))  # the front door, default embedder (backend "auto")
    load_s = time.perf_counter() - t
    index = bot.vectors.faiss
    if vectors_out is not None:
        np.save(vectors_out, np.ascontiguousarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32))
    ready = dict(load_s=load_s, backend=bot.embedder.backend, notices=bot.notices,
                 index_type=bot.vectors.manifest.index_type, chunks=int(index.ntotal))
    return ready, lambda q: bool(bot.ask(q).answered)


def baseline_side(vectors: Path):
    """(what was loaded, ask): sentence-transformers (torch) encode + FAISS flat search."""
    import faiss

    from benchmarks.run import st_model

    flat = faiss.IndexFlatIP(int(np.load(vectors, mmap_mode="r").shape[1]))
    flat.add(np.load(vectors))
    model = st_model()

    def ask(q: str) -> bool:
        v = model.encode([q], normalize_embeddings=True)
        flat.search(np.ascontiguousarray(v, dtype=np.float32), 10)
        return True

    return dict(chunks=int(flat.ntotal)), ask


def encode_side():
    """(what was loaded, measure): the product's embedder with nothing around it."""
    from qa.embed import Embedder

    embedder = Embedder().warm_up()

    def measure(questions: list[str]) -> dict:
        def per_question(batches: list[list[str]]) -> tuple[float, float]:
            """(CPU ms a question, questions a second of wall time)"""
            cpu, wall = time.process_time(), time.perf_counter()
            for batch in batches:
                embedder.encode(batch)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            return cpu * 1000 / max(1, len(questions)), len(questions) / wall if wall > 0 else 0.0

        lone_cpu_ms, lone_qps = per_question([[q] for q in questions])
        batched_cpu_ms, batched_qps = per_question([questions[i : i + 32] for i in range(0, len(questions), 32)])
        return dict(lone_cpu_ms=lone_cpu_ms, batched_cpu_ms=batched_cpu_ms, lone_qps=lone_qps, batched_qps=batched_qps)

    return dict(backend=embedder.backend), measure


def timed(ask, questions: list[str]) -> tuple[list[float], int]:
    """Milliseconds for each question, and how many `ask` answered."""
    ms, answered = [], 0
    for q in questions:
        t = time.perf_counter()
        answered += ask(q)
        ms.append((time.perf_counter() - t) * 1000)
    return ms, answered


def main(argv: list[str]) -> int:
    # Replies go to the original stdout; anything a library prints goes to stderr instead.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    if argv[:1] == ["bot"] and len(argv) == 3:
        ready, ask = bot_side(Path(argv[1]), Path(argv[2]))
    elif argv[:1] == ["baseline"] and len(argv) == 2:
        ready, ask = baseline_side(Path(argv[1]))
    elif argv == ["encode"]:
        ready, measure = encode_side()
        print(json.dumps(ready), file=replies, flush=True)
        for line in sys.stdin:
            print(json.dumps(measure(json.loads(line))), file=replies, flush=True)
        return 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(ready), file=replies, flush=True)
    for line in sys.stdin:
        ms, answered = timed(ask, json.loads(line))
        print(json.dumps(dict(ms=ms, answered=answered)), file=replies, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
