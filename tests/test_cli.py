"""`qa` as a user runs it: real processes, real model, the committed index."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


pytestmark = pytest.mark.slow


def run(args, workdir, stdin: bytes | None = None, timeout=300):
    env = dict(os.environ, QA_CORPUS_DIR=str(workdir / "corpus"), QA_INDEX_DIR=str(workdir / "index"), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "qa", *args], input=stdin, capture_output=True, env=env, timeout=timeout)


def test_ask_prints_the_answer_and_its_sources(workdir):
    done = run(["ask", "what fixes overfitting?"], workdir)
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "Overfitting can be mitigated by using regularization techniques" in out
    assert "Sources:\n[1] Overfitting (Deep Learning and Neural Networks, deep-learning.md:122" in out
    assert b"Traceback" not in done.stderr and b"Rebuilding" not in done.stderr


def test_ask_json_lines_one_object_per_input_line_in_order(workdir):
    lines = [b"what fixes overfitting?", b"", b"a good pasta recipe?", b"\xff\xfebad bytes", b"lstm vs rnn",
             "emoji \U0001F600 and \u05e9\u05dc\u05d5\u05dd what is dropout".encode(), b"<img src=x onerror=alert(1)>"]
    done = run(["ask", "--json", "-"], workdir, stdin=b"\n".join(lines) + b"\n")
    assert done.returncode == 0, done.stderr.decode()
    objects = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(objects) == len(lines)
    for obj in objects:
        assert {"question", "answered", "answer", "citations"} <= set(obj)
    assert objects[0]["answered"] and objects[0]["citations"][0]["term"] == "Overfitting"
    assert {"term", "score"} <= set(objects[0]["citations"][0])
    assert objects[1]["error"] == "empty question"
    assert not objects[2]["answered"] and objects[2]["citations"]  # nearest terms
    assert "not valid UTF-8" in objects[3]["error"]
    assert [c["term"] for c in objects[4]["citations"]] == ["Long Short-Term Memory (LSTM)", "Recurrent Neural Network (RNN)"]
    assert objects[5]["citations"][0]["term"] == "Dropout"
    assert objects[6]["error"] == "empty question"


def test_bad_corpus_is_a_one_line_error_and_the_index_is_untouched(workdir):
    before = {p.name: p.read_bytes() for p in (workdir / "index").iterdir()}
    (workdir / "corpus" / "staff.csv").write_text("Epoch,One pass.\nBroken line without definition\n")
    done = run(["build"], workdir)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "error: staff.csv:2: expected term, definition[, aliases, see_also, asked] separated by ','; found 1 column(s)"
    assert {p.name: p.read_bytes() for p in (workdir / "index").iterdir()} == before
    done = run(["ask", "what is dropout"], workdir)
    assert done.returncode == 2 and b"staff.csv:2" in done.stderr and b"Traceback" not in done.stderr


def test_build_then_ask_about_a_staff_entry(workdir):
    (workdir / "corpus" / "staff.jsonl").write_text('{"term": "Epoch", "definition": "An epoch is one full pass over the training data.", "aliases": ["epochs"]}\n')
    done = run(["build", "--quiet"], workdir)
    assert done.returncode == 0, done.stderr.decode()
    assert "Indexed 42 entries from 2 file(s)" in done.stdout.decode()
    done = run(["ask", "--json", "what is an epoch?"], workdir)
    answer = json.loads(done.stdout)
    assert answer["answered"] and answer["citations"][0]["term"] == "Epoch"
    assert answer["citations"][0]["source"] == "staff.jsonl:1"
