"""A bounded load run against the real app (`python app.py`) on 127.0.0.1, through the raw HTTP API.

50 client threads x 20 questions each (zero errors, every answer cited; p50/p99 latency printed and
written to test-artifacts/load.json), then 4,000 more from 16 threads in two halves. Memory is read
after 500, 3,000 and 5,000 questions, nothing in flight. A leak keeps growing; caches that fill to
their caps (question vectors, OpenVINO's kernels for each input shape, up to 100 a compilation)
level off. So the last 2,000 questions may add at most 5% of the memory after 500 (a leak at the
rate of questions 500-3,000, 48-51 MiB, would add 6-6.4%), and all 4,500 at most 15% (measured on
one machine: 8.8-11.3% in all, 1.5-3.2% in the last 2,000)."""
from __future__ import annotations

import json
import random
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from apprunner import RunningApp
from conftest import ROOT

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 60  # seconds, per HTTP call
PHASE_BUDGET = 150  # seconds: no phase may run longer than this
MEMORY_SLACK = 0.15  # of the memory after 500 questions, over the next 4,500
LATE_SLACK = 0.05  # ... over the last 2,000: a leak keeps growing, caches level off


def ask(url: str, question: str) -> dict:
    """POST /gradio_api/call/ask then read the event stream until it completes; the answer object."""
    assert url.startswith(f"http://{HOST}:")
    body = json.dumps({"data": [question, None]}).encode()
    request = urllib.request.Request(f"{url}/gradio_api/call/ask", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/ask/{event_id}", timeout=REQUEST_TIMEOUT) as r:
        text = r.read().decode()
    if "event: complete" not in text:
        raise RuntimeError(f"no complete event: {text[:500]}")
    data = text.split("event: complete", 1)[1].split("data:", 1)[1].strip().splitlines()[0]
    return json.loads(data)[0]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def question_stream(seed: int, count: int, terms: list[str]) -> list[str]:
    """Distinct-ish questions from templates, so the app's caches do not hide a leak."""
    rng = random.Random(seed)
    templates = ["what is {t}?", "explain {t} {n}", "how does {t} work for case {n}?", "{t} vs {u}",
                 "why would I use {t} in project {n}", "what problem does {t} solve? ({n})", "{t} example {n}",
                 "a good pasta recipe number {n}?", "tell me about {t} and {u}, question {n}"]
    return [rng.choice(templates).format(t=rng.choice(terms).lower(), u=rng.choice(terms).lower(), n=rng.randrange(100_000))
            for _ in range(count)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


class Clients:
    """Client threads, each asking its own list of questions; results and failures are recorded."""

    def __init__(self, url: str):
        self.url = url
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.done = 0
        self._lock = threading.Lock()

    def one(self, question: str) -> None:
        started = time.perf_counter()
        try:
            result = ask(self.url, question)
            problem = None
            if not isinstance(result, dict) or "answered" not in result:
                problem = f"not an answer: {str(result)[:200]}"
            elif result.get("error") is not None:
                problem = f"error {result['error']!r}"
            elif result["answered"] and not result.get("citations"):
                problem = "answered without citations"
            elif not result["answered"] and not result.get("answer", "").startswith("That is not in the glossary."):
                problem = f"a refusal without its message: {result.get('answer', '')[:100]!r}"
            elif result.get("question") != " ".join(question.split()):
                problem = f"answer to another question: {result.get('question')!r}"
        except Exception as exc:  # recorded and asserted on
            problem = f"{type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - started
        with self._lock:
            self.done += 1
            self.latencies.append(elapsed)
            if problem:
                self.errors.append(f"{question!r}: {problem}")

    def run(self, per_thread: list[list[str]], deadline: float, barrier: threading.Barrier | None = None,
            split: int | None = None) -> list[threading.Thread]:
        def worker(questions: list[str]) -> None:
            for i, question in enumerate(questions):
                if barrier is not None and i == split:
                    try:
                        barrier.wait(timeout=max(1.0, deadline - time.monotonic()))
                    except threading.BrokenBarrierError:
                        return
                if time.monotonic() > deadline:
                    with self._lock:
                        self.errors.append("deadline passed before all questions were asked")
                    return
                self.one(question)

        threads = [threading.Thread(target=worker, args=(qs,), daemon=True) for qs in per_thread]
        for t in threads:
            t.start()
        return threads


def join(threads: list[threading.Thread], deadline: float) -> None:
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    alive = sum(t.is_alive() for t in threads)
    assert alive == 0, f"{alive} client threads still running at the deadline"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("load")
    shutil.copytree(ROOT / "corpus", root / "corpus", ignore=shutil.ignore_patterns("seed"))
    shutil.copytree(ROOT / "index", root / "index")
    started = time.perf_counter()
    running = RunningApp(root).wait_ready()
    print(f"\napp ready in {time.perf_counter() - started:.1f} s (pid {running.proc.pid}, {running.url})")
    assert running.url.startswith(f"http://{HOST}:")
    yield running
    running.stop()


def test_load_fifty_users_then_five_thousand_questions_without_errors_or_leaks(app):
    from qa.ingest import load_corpus

    terms = [e.term for e in load_corpus(ROOT / "corpus").entries]
    report: dict = {"url": app.url, "pid": app.proc.pid}
    rss_start = rss_kib(app.proc.pid)

    # Phase 1: 50 threads x 20 questions; all threads pause after their 10th so memory is read
    # with nothing in flight after the first 500 questions.
    users, per_user, half = 50, 20, 10
    questions = question_stream(1, users * per_user, terms)
    per_thread = [questions[i * per_user:(i + 1) * per_user] for i in range(users)]
    clients = Clients(app.url)
    barrier = threading.Barrier(users + 1)
    started = time.perf_counter()
    deadline = time.monotonic() + PHASE_BUDGET
    threads = clients.run(per_thread, deadline, barrier=barrier, split=half)
    try:
        barrier.wait(timeout=PHASE_BUDGET)
    except threading.BrokenBarrierError:
        pass
    first_half = time.perf_counter() - started
    assert clients.done == users * half, f"only {clients.done} of {users * half} questions done at the midpoint"
    time.sleep(1.0)  # let the server settle (finished events flushed)
    rss_500 = rss_kib(app.proc.pid)
    resumed = time.perf_counter()
    join(threads, deadline)
    phase1 = first_half + (time.perf_counter() - resumed)
    p50, p99 = percentile(clients.latencies, 50), percentile(clients.latencies, 99)
    report["phase1"] = {
        "threads": users, "questions_per_thread": per_user, "questions": clients.done, "errors": len(clients.errors),
        "seconds": round(phase1, 2), "questions_per_second": round(clients.done / phase1, 1),
        "p50_seconds": round(p50, 4), "p99_seconds": round(p99, 4), "max_seconds": round(max(clients.latencies), 4),
    }
    print(f"phase 1: {clients.done} questions from {users} threads in {phase1:.1f} s "
          f"({clients.done / phase1:.0f}/s); latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {max(clients.latencies) * 1000:.0f} ms; errors {len(clients.errors)}")
    phase1_errors = list(clients.errors)
    phase1_done = clients.done

    # Phase 2: the remaining 4,000 from 16 threads, new questions all the way, in two halves with
    # memory read after each (nothing in flight).
    more_threads, total = 16, 5000
    remaining = total - phase1_done
    questions = question_stream(2, remaining, terms)
    clients2 = Clients(app.url)
    started = time.perf_counter()
    deadline = time.monotonic() + PHASE_BUDGET
    rss_after = []
    for part in (questions[: remaining // 2], questions[remaining // 2 :]):
        join(clients2.run([part[i::more_threads] for i in range(more_threads)], deadline), deadline)
        time.sleep(1.0)
        rss_after.append(rss_kib(app.proc.pid))
    phase2 = time.perf_counter() - started - 2.0
    rss_3000, rss_5000 = rss_after
    report["phase2"] = {
        "threads": more_threads, "questions": clients2.done, "errors": len(clients2.errors), "seconds": round(phase2, 2),
        "questions_per_second": round(clients2.done / phase2, 1),
        "p50_seconds": round(percentile(clients2.latencies, 50), 4), "p99_seconds": round(percentile(clients2.latencies, 99), 4),
    }
    growth = (rss_5000 - rss_500) / rss_500
    late = (rss_5000 - rss_3000) / rss_500
    report["memory_kib"] = {"at_start": rss_start, "after_500": rss_500, "after_3000": rss_3000, "after_5000": rss_5000,
                            "growth_500_to_5000": round(growth, 4), "growth_3000_to_5000": round(late, 4),
                            "allowed": MEMORY_SLACK, "allowed_late": LATE_SLACK}
    report["questions_total"] = phase1_done + clients2.done
    print(f"phase 2: {clients2.done} questions from {more_threads} threads in {phase2:.1f} s "
          f"({clients2.done / phase2:.0f}/s); errors {len(clients2.errors)}")
    print(f"memory (VmRSS): start {rss_start / 1024:.0f} MiB, after 500 {rss_500 / 1024:.0f} MiB, after 3000 "
          f"{rss_3000 / 1024:.0f} MiB, after {phase1_done + clients2.done} {rss_5000 / 1024:.0f} MiB ({growth:+.1%}; "
          f"last 2,000 {late:+.1%})")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(report, indent=2) + "\n")

    assert phase1_errors == [], f"{len(phase1_errors)} errors under 50 concurrent users, e.g. {phase1_errors[:5]}"
    assert phase1_done == users * per_user
    assert clients2.errors == [], f"{len(clients2.errors)} errors in phase 2, e.g. {clients2.errors[:5]}"
    assert phase1_done + clients2.done == total
    assert app.proc.poll() is None, "the app died under load"
    assert "Traceback" not in app.log(), app.log()[-3000:]
    assert rss_5000 - rss_3000 <= rss_500 * LATE_SLACK, (
        f"memory still grew {late:.1%} (of {rss_500} KiB) over the last 2,000 questions, to {rss_5000} KiB (allowed {LATE_SLACK:.0%})"
    )
    assert rss_5000 <= rss_500 * (1 + MEMORY_SLACK), (
        f"memory grew {growth:.1%} from {rss_500} KiB after 500 questions to {rss_5000} KiB after 5,000 (allowed {MEMORY_SLACK:.0%})"
    )
