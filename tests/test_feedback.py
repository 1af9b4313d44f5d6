"""The staff's feedback log under contention and damage (fast: no model, no server).

Promises (qa.feedback.FeedbackLog, README "Settings": JSONL, locked appends, rotated at 10 MB):
- many threads and several processes appending at once lose no line and break no line, even when a
  line is far longer than the pipe buffer (PIPE_BUF, 4 KiB);
- past `max_bytes` the log rotates to .1, .2 ... and `records()` returns everything kept, oldest first;
- a corrupt line (garbage bytes, truncated JSON, a JSON line with wrong fields) is skipped, never fatal;
- `review()` ranks most frequent first and ignores "up" votes.
"""
from __future__ import annotations

import inspect
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path


from conftest import ROOT
from qa.feedback import FeedbackLog, FeedbackRecord

PIPE_BUF = select.PIPE_BUF  # 4096 on Linux: writes above this are not atomic on pipes
QUESTION_LIMIT = 2000  # FeedbackLog.append keeps question[:2000] and answer[:4000]
ANSWER_LIMIT = 4000


def long_question(writer: str, seq: int, size: int) -> str:
    """A question whose identity is in its first characters (the log keeps the first 2,000) and
    whose body is multi-byte text, so the line is several times PIPE_BUF."""
    head = f"{writer} {seq:05d} "
    body = ("überfitting € 模型 " * (size // 15 + 1))
    return (head + body)[:size]


def parse_lines(path: Path) -> list[dict]:
    """Every line of one log file as JSON; fails (with the line number) on a broken line."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), f"{path.name} ends with a partial line"
    out = []
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise AssertionError(f"{path.name}:{number} is not a JSON line ({exc}): {raw[:120]!r}...") from None
        FeedbackRecord.model_validate(obj)
        out.append(obj)
    return out


def identity(question: str) -> tuple[str, int]:
    writer, seq, _ = question.split(" ", 2)
    return writer, int(seq)


def thread_writers(log: FeedbackLog, threads: int, per_thread: int, size: int, barrier: threading.Barrier | None = None):
    errors: list[BaseException] = []

    def write(t: int) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout=60)
            for i in range(per_thread):
                log.append("refused", long_question(f"t{t:02d}", i, size), answer="ß" * 3000, terms=["Dropout"])
        except BaseException as exc:  # recorded, asserted by the caller
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    return workers, errors


PROCESS_WRITER = inspect.getsource(long_question) + r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from qa.feedback import FeedbackLog
path, name, count, size, max_bytes, keep, go = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), Path(sys.argv[8])
log = FeedbackLog(Path(path), max_bytes=max_bytes, keep=keep)
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
for i in range(count):
    log.append("down", long_question(name, i, size), answer="\u00e9" * 5000, terms=[])
print("done", name)
"""


def start_processes(log_path: Path, go: Path, processes: int, per_process: int, size: int, max_bytes: int, keep: int):
    return [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS_WRITER, str(ROOT), str(log_path), f"p{p:02d}", str(per_process), str(size),
             str(max_bytes), str(keep), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for p in range(processes)
    ]


def finish_processes(procs, timeout: float = 120) -> None:
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"writer process did not finish in {timeout}s: {err.decode(errors='replace')[-2000:]}")
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
        assert out.startswith(b"done"), out


def assert_every_pair_once(questions: list[str], expected: dict[str, int], size: int) -> None:
    seen = Counter(identity(q) for q in questions)
    duplicates = {k: v for k, v in seen.items() if v != 1}
    assert not duplicates, f"records written more than once: {sorted(duplicates)[:10]}"
    want = {(writer, i) for writer, count in expected.items() for i in range(count)}
    missing = want - set(seen)
    extra = set(seen) - want
    assert not missing, f"{len(missing)} records lost, e.g. {sorted(missing)[:10]}"
    assert not extra, f"unexpected records: {sorted(extra)[:10]}"
    for q in questions:  # the text itself arrived whole (cut only at the documented 2,000 characters)
        writer, seq = identity(q)
        assert q == long_question(writer, seq, size)[:QUESTION_LIMIT]


def release_and_wait(go: Path, workers, procs) -> None:
    """Start every writer at once (threads now, processes on the go file) and wait for them all."""
    go.touch()
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    finish_processes(procs)


def test_sixteen_threads_lose_and_break_no_line(tmp_path):
    path = tmp_path / "feedback" / "feedback.jsonl"
    log = FeedbackLog(path, max_bytes=1 << 30)
    threads, per_thread, size = 16, 200, 3000  # question kept to 2,000 chars, answer 6 KB: ~9 KB lines
    barrier = threading.Barrier(threads)
    workers, errors = thread_writers(log, threads, per_thread, size, barrier)
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers), "writer threads did not finish in 120 s"
    print(f"\n{threads}x{per_thread} thread appends in {time.perf_counter() - started:.2f} s")
    assert errors == []
    rows = parse_lines(path)
    assert min(len(line) for line in path.read_bytes().split(b"\n")[:-1]) > PIPE_BUF
    assert len(rows) == threads * per_thread
    assert_every_pair_once([r["question"] for r in rows], {f"t{t:02d}": per_thread for t in range(threads)}, size)
    assert len(log.records()) == threads * per_thread
    # appends are ordered per writer: each thread's records appear in the order it wrote them
    for t in range(threads):
        seqs = [identity(r["question"])[1] for r in rows if r["question"].startswith(f"t{t:02d} ")]
        assert seqs == sorted(seqs)


def test_processes_and_threads_at_once_with_lines_longer_than_pipe_buf(tmp_path):
    path = tmp_path / "feedback" / "feedback.jsonl"
    go = tmp_path / "go"
    processes, per_process, size = 4, 300, 6000  # question kept to 2,000 chars; answer 4,000 x 2 bytes
    threads, per_thread = 8, 100
    procs = start_processes(path, go, processes, per_process, size, max_bytes=1 << 30, keep=5)
    log = FeedbackLog(path, max_bytes=1 << 30)
    workers, errors = thread_writers(log, threads, per_thread, size)
    started = time.perf_counter()
    release_and_wait(go, workers, procs)
    print(f"\n{processes}x{per_process} process + {threads}x{per_thread} thread appends in {time.perf_counter() - started:.2f} s")
    assert errors == []
    assert not any(w.is_alive() for w in workers)

    rows = parse_lines(path)
    process_lines = [len((json.dumps(r, ensure_ascii=False) + "\n").encode()) for r in rows if r["kind"] == "down"]
    assert min(process_lines) > 2 * PIPE_BUF, "the test must write lines longer than the pipe buffer"
    assert len(rows) == processes * per_process + threads * per_thread
    expected = {f"p{p:02d}": per_process for p in range(processes)} | {f"t{t:02d}": per_thread for t in range(threads)}
    assert_every_pair_once([r["question"] for r in rows], expected, size)
    for r in rows:
        if r["kind"] == "down":
            assert r["answer"] == "\u00e9" * ANSWER_LIMIT
    assert len(log.records()) == len(rows)


def test_rotation_under_concurrency_keeps_every_line(tmp_path):
    """Processes and threads writing across many rotations: every record is still in exactly one file."""
    path = tmp_path / "feedback.jsonl"
    go = tmp_path / "go"
    max_bytes, keep = 50_000, 1000  # 5-13 KB lines: a rotation every few lines, nothing dropped
    processes, per_process, size = 4, 150, 3000
    threads, per_thread = 8, 50
    procs = start_processes(path, go, processes, per_process, size, max_bytes=max_bytes, keep=keep)
    log = FeedbackLog(path, max_bytes=max_bytes, keep=keep)
    workers, errors = thread_writers(log, threads, per_thread, size)
    release_and_wait(go, workers, procs)
    assert errors == []
    rotated = sorted(tmp_path.glob("feedback.jsonl.*"), key=lambda p: p.name)
    rotated = [p for p in rotated if p.suffix[1:].isdigit()]
    assert len(rotated) >= 10, "the test must rotate many times"
    assert len(rotated) < keep, "the test must not drop old files"
    rows = []
    for p in rotated + [path]:
        file_rows = parse_lines(p)
        assert p.stat().st_size <= max_bytes or len(file_rows) == 1, f"{p.name} is {p.stat().st_size} bytes"
        rows += file_rows
    expected = {f"p{p:02d}": per_process for p in range(processes)} | {f"t{t:02d}": per_thread for t in range(threads)}
    assert_every_pair_once([r["question"] for r in rows], expected, size)
    records = log.records()
    assert len(records) == len(rows)
    assert_every_pair_once([r.question for r in records], expected, size)


def test_rotation_shifts_files_and_records_returns_everything_kept(tmp_path):
    path = tmp_path / "feedback.jsonl"
    log = FeedbackLog(path, max_bytes=1000, keep=3)
    for i in range(60):
        log.append("refused", f"question {i:03d} about something not in the glossary")
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert names == ["feedback.jsonl", "feedback.jsonl.1", "feedback.jsonl.2", "feedback.jsonl.3"]
    files = [tmp_path / "feedback.jsonl.3", tmp_path / "feedback.jsonl.2", tmp_path / "feedback.jsonl.1", path]
    kept: list[str] = []
    for p in files:
        assert 0 < p.stat().st_size <= 1000, (p.name, p.stat().st_size)
        kept += [r["question"] for r in parse_lines(p)]
    records = [r.question for r in log.records()]
    assert records == kept  # everything kept, oldest first
    numbers = [int(q.split()[1]) for q in records]
    assert numbers == list(range(numbers[0], 60)), "kept records must be the newest, contiguous and in order"
    assert numbers[0] > 0  # the oldest ones were dropped past `keep`, not the newest


def test_rotation_with_enough_keep_loses_nothing(tmp_path):
    path = tmp_path / "feedback.jsonl"
    log = FeedbackLog(path, max_bytes=500, keep=100)
    for i in range(200):
        log.append("down", f"question {i:03d}", answer="x" * 50)
    assert (tmp_path / "feedback.jsonl.1").exists() and (tmp_path / "feedback.jsonl.2").exists()
    assert [r.question for r in log.records()] == [f"question {i:03d}" for i in range(200)]
    assert {r.question for r in log.records()} == {row.question for row in log.review()}


def good(kind: str, question: str, time: str = "2024-01-01T00:00:00+00:00") -> bytes:
    return (FeedbackRecord(time=time, kind=kind, question=question).model_dump_json() + "\n").encode()


CORRUPT_LINES = [
    b"\xff\xfe\x00\x01garbage bytes \x80\x81\n",
    b'{"time": "2024-01-01T00:00:00+00:00", "kind": "refused", "question": "trunc\n',  # truncated JSON
    b'{"foo": 1, "bar": [1, 2]}\n',  # JSON, wrong fields
    b'{"time": "2024-01-01T00:00:00+00:00", "kind": "sideways", "question": "bad kind"}\n',
    b'{"time": "2024-01-01T00:00:00+00:00", "kind": "refused", "question": 42}\n',
    b'{"time": null, "kind": "refused", "question": "null time"}\n',
    b"[1, 2, 3]\n",
    b"42\n",
    b"null\n",
    b"\n",
    b"   \n",
    b"\x00" * 100 + b"\n",
    b"{" * 5000 + b"\n",  # deeply nested junk
    b"x" * 200_000 + b"\n",  # a very long garbage line
]


def test_corrupt_lines_are_skipped_and_review_still_works(tmp_path):
    path = tmp_path / "feedback.jsonl"
    data = b""
    for n, bad in enumerate(CORRUPT_LINES):
        data += good("refused", "what is a random forest?") + bad
        data += good("down", f"other question {n}")
    path.write_bytes(data)
    log = FeedbackLog(path)
    records = log.records()
    assert len(records) == 2 * len(CORRUPT_LINES)
    rows = log.review()
    assert rows[0].question == "what is a random forest?" and rows[0].count == len(CORRUPT_LINES)
    assert rows[0].kind == "refused"
    assert {r.question for r in rows[1:]} == {f"other question {n}" for n in range(len(CORRUPT_LINES))}
    # and the log can still be appended to, the new record read back
    log.append("refused", "what is a random forest?")
    assert log.review()[0].count == len(CORRUPT_LINES) + 1


def test_corrupt_rotated_file_does_not_stop_review(tmp_path):
    path = tmp_path / "feedback.jsonl"
    (tmp_path / "feedback.jsonl.2").write_bytes(b"\xff\xff\xff not json at all\n" + good("refused", "what is xgboost?"))
    (tmp_path / "feedback.jsonl.1").write_bytes(os.urandom(4096))  # pure binary noise, no newline at all
    path.write_bytes(good("refused", "what is xgboost?") + b'{"time": "2024')
    rows = FeedbackLog(path).review()
    assert [(r.question, r.count) for r in rows] == [("what is xgboost?", 2)]


def test_append_after_a_truncated_last_line_is_not_lost(tmp_path):
    """A writer killed mid-line (or a full disk) leaves a last line without its newline; the next
    append must still be a readable record of its own, not glued onto the broken one."""
    path = tmp_path / "feedback.jsonl"
    path.write_bytes(good("refused", "first") + b'{"time": "2024-01-01T00:00:00+00:00", "kind": "refu')
    log = FeedbackLog(path)
    log.append("refused", "after the crash")
    assert [r.question for r in log.records()] == ["first", "after the crash"]


def test_review_ranks_most_frequent_first_and_ignores_up_votes(tmp_path):
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    plan = [
        ("refused", "what is a random forest?", 3),
        ("down", "how do transformers work", 5),
        ("up", "what fixes overfitting?", 10),  # up votes are not work for staff
        ("refused", "what is xgboost", 1),
        ("down", "what is xgboost", 1),
        ("up", "what is a random forest?", 7),  # does not add to the refused count
    ]
    for kind, question, times in plan:
        for _ in range(times):
            log.append(kind, question)
    log.append("refused", "What is a Random-Forest")  # same question, other case/punctuation
    rows = log.review()
    assert [(r.question, r.count) for r in rows] == [
        ("how do transformers work", 5),
        ("what is a random forest?", 4),
        ("what is xgboost", 2),
    ]
    assert [r.kind for r in rows] == ["down", "refused", "refused+down"]
    assert all(r.question != "what fixes overfitting?" for r in rows)
    only_up = FeedbackLog(tmp_path / "up.jsonl")
    for _ in range(5):
        only_up.append("up", "great answer")
    assert only_up.review() == []


def test_qa_review_command_survives_a_corrupt_log(tmp_path):
    path = tmp_path / "feedback.jsonl"
    path.write_bytes(b"".join(good("refused", "what is a random forest?") + bad for bad in CORRUPT_LINES))
    env = dict(os.environ, QA_FEEDBACK_LOG=str(path))
    done = subprocess.run([sys.executable, "-m", "qa", "review"], capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    out = done.stdout.decode()
    assert f"{len(CORRUPT_LINES):>5}  refused     what is a random forest?" in out


def test_missing_log_reviews_as_empty(tmp_path):
    assert FeedbackLog(tmp_path / "nowhere" / "feedback.jsonl").review() == []
    assert FeedbackLog(tmp_path / "nowhere" / "feedback.jsonl").records() == []


def test_append_many_writes_whole_records_in_order_and_nothing_for_none(tmp_path):
    log = FeedbackLog(tmp_path / "f.jsonl")
    log.append_many([])
    assert not (tmp_path / "f.jsonl").exists()
    log.append_many([("refused", "q1", "a1", ["Dropout"]), ("refused", "q2\nwith newline", "", None)])
    log.append("down", "q3")
    records = log.records()
    assert [(r.kind, r.question, r.terms) for r in records] == [
        ("refused", "q1", ["Dropout"]), ("refused", "q2\nwith newline", []), ("down", "q3", [])]
    assert len((tmp_path / "f.jsonl").read_text().splitlines()) == 3
