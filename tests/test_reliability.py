"""Reliability: hostile and broken input through every door (library, CLI, app), paths that input
must not steer, and an index that is never unpickled. Real model, real index, real processes."""
from __future__ import annotations

import ast
import asyncio
import builtins
import importlib.util
import inspect
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, make_settings
from qa.errors import CorpusError
from qa.settings import MAX_QUESTION_CHARS
from qa.types import Answer

pytestmark = pytest.mark.slow

NORMAL = "what fixes overfitting?"
CUT_NOTE = f"cut to its first {MAX_QUESTION_CHARS:,} characters"

BAD_QUESTIONS = {
    "empty": "",
    "whitespace": " \t\n\r\u00a0\u2003  \n",
    "one-megabyte": "x" * 1_000_000,
    "one-megabyte-words": ("what is dropout " * 70_000)[:1_000_000],
    "nul-and-controls": "\x00\x01\x02\x07\x08 what is\x00 dropout\x1b[31m\x7f\x9b\x0c?",
    "only-nul": "\x00" * 64,
    "lone-surrogate": "\ud800",
    "lone-surrogate-in-question": "what is \ud800 dropout?",
    "low-surrogate-pair-reversed": "\udfff\ud800 what fixes overfitting",
    "emoji": "🤖🔥 what is dropout 👍🏽🧑‍🔬",
    "only-emoji": "🤖🤖🤖",
    "rtl-hebrew": "מה זה dropout?",
    "rtl-arabic": "ما هو التعلم العميق؟",
    "rtl-override": "\u202ewhat is dropout\u202c \u2067abc\u2069",
    "markdown-link": "**bold** [link](javascript:alert(1))",
    "markdown-table": "| a | b |",
    "markdown-image": "![x](http://127.0.0.1:1/x.png) what is dropout",
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "script-in-question": "what is <script>alert(1)</script> dropout",
    "nested-script": "<scr<script>ipt>alert(1)</scr</script>ipt> what is dropout",
    "unterminated-script": "what is dropout <script src=//evil.example/x.js",
    "unterminated-img": "what is dropout <img src=x onerror=alert(1)",
    "doubled-angle": "<<script>script>alert(1)<</script>/script> dropout",
    "repeated-word-10kb": "overfitting " * 900,
    "only-punctuation": "?!?...;;::--((()))[]{}'\"`~@#$%^&*",
    "format-string": "%s%s%s%n {0} {question} ${HOME} $(id)",
    "bytes-invalid-utf8": b"\xff\xfe what is dropout \x80",
    "none": None,
}


def assert_well_formed(bot, answer: Answer) -> None:
    assert isinstance(answer, Answer)
    assert len(answer.question) <= MAX_QUESTION_CHARS
    low = answer.answer.lower()
    assert "<script" not in low and "<img" not in low, answer.answer[:500]
    definitions = {e.term: e.definition for e in bot.entries}
    for citation in answer.citations:
        assert citation.term in definitions
        for quote in citation.quotes:
            assert quote in definitions[citation.term], (citation.term, quote)


def assert_normal(bot) -> None:
    answer = bot.ask(NORMAL)
    assert answer.answered and answer.error is None
    assert answer.citations[0].term == "Overfitting"
    assert "Overfitting can be mitigated" in answer.answer
    assert_well_formed(bot, answer)


@pytest.mark.parametrize("question", list(BAD_QUESTIONS.values()), ids=list(BAD_QUESTIONS))
def test_bad_question_gets_an_answer_and_the_next_question_is_normal(bot, question):
    answer = bot.ask(question)
    assert_well_formed(bot, answer)
    assert_normal(bot)


@pytest.mark.parametrize("question", list(BAD_QUESTIONS.values()), ids=list(BAD_QUESTIONS))
def test_bad_question_answer_fits_the_json_contract(bot, question):
    """`qa ask --json` and the app's /ask send the Answer as JSON: it must serialize."""
    answer = bot.ask(question)
    data = json.loads(answer.model_dump_json())
    assert {"question", "answered", "answer", "citations", "reading", "suggestions", "error"} <= set(data)


@pytest.mark.parametrize("question", list(BAD_QUESTIONS.values()), ids=list(BAD_QUESTIONS))
def test_bad_question_in_history_does_not_break_a_follow_up(bot, question):
    history = [question] if question is not None else [None]
    answer = bot.ask(NORMAL, history)
    assert answer.answered and answer.citations[0].term == "Overfitting"
    assert_well_formed(bot, answer)
    chat = [{"role": "user", "content": question if isinstance(question, str) else ""},
            {"role": "assistant", "content": "<img src=x onerror=alert(1)>"}]
    answer = bot.ask("what problem does it solve?", chat)
    assert_well_formed(bot, answer)
    assert_normal(bot)


@pytest.mark.parametrize("question", ["x" * 1_000_000, "what is dropout " * 65_536, "overfitting " * 900,
                                      "a" * (MAX_QUESTION_CHARS + 1)])
def test_overlong_question_is_cut_at_the_documented_limit_with_a_note(bot, question):
    answer = bot.ask(question)
    assert CUT_NOTE in answer.answer
    assert answer.answer.startswith(f"*Your question was {CUT_NOTE}.*")
    assert len(answer.question) <= MAX_QUESTION_CHARS
    assert question.startswith(answer.question.split(" ")[0][:20])
    assert_normal(bot)


def test_question_at_the_limit_is_not_cut(bot):
    question = ("what is dropout " * 100)[:MAX_QUESTION_CHARS]
    assert len(question) == MAX_QUESTION_CHARS
    answer = bot.ask(question)
    assert CUT_NOTE not in answer.answer
    assert answer.question == " ".join(question.split())


def test_repeated_word_question_still_finds_its_entry(bot):
    answer = bot.ask("overfitting " * 900)  # 10 KB of one word
    assert answer.answered and answer.citations[0].term == "Overfitting"
    assert CUT_NOTE in answer.answer


def test_markup_in_glossary_text_is_never_raw_html_in_answers(tmp_path, fake_embedder):
    """Entries with markup (a staff file): answers quote it exactly, the markdown shows it as text."""
    from qa.answer import sources_markdown
    from qa.bot import Bot

    shutil.copytree(ROOT / "corpus", tmp_path / "corpus", ignore=shutil.ignore_patterns("seed"))
    xss = '<img src=x onerror="alert(1)"> <script>alert(2)</script> <SCRIPT SRC=//x.example/a.js></SCRIPT>'
    (tmp_path / "corpus" / "staff.jsonl").write_text(json.dumps({
        "term": "Markup Sanitizer",
        "definition": f"A markup sanitizer strips tags such as {xss} from text. It keeps the words.",
        "aliases": ["html sanitizer"],
    }) + "\n")
    bot = Bot.load(make_settings(tmp_path, model=fake_embedder.model), embedder=fake_embedder)
    shown = 0
    for question in ("what is a markup sanitizer?", "markup sanitizer", "html sanitizer vs dropout",
                     "what does a markup sanitizer strip?", "markup sanitizer <img src=x onerror=alert(1)>"):
        answer = bot.ask(question)
        assert_well_formed(bot, answer)
        low = sources_markdown(answer).lower()
        assert "<script" not in low and "<img" not in low
        if answer.answered and any(c.term == "Markup Sanitizer" and any("<script>" in q for q in c.quotes) for c in answer.citations):
            assert "&lt;script&gt;" in answer.answer  # quoted, shown as text
            shown += 1
    assert shown >= 1, "the entry with markup was never quoted: the test proved nothing"


# --- the CLI: 10,000 lines on stdin ---------------------------------------------------------------


def cli_env(workdir: Path) -> dict[str, str]:
    return dict(os.environ, QA_CORPUS_DIR=str(workdir / "corpus"), QA_INDEX_DIR=str(workdir / "index"),
                QA_FEEDBACK_LOG=str(workdir / "feedback" / "feedback.jsonl"), HF_HUB_OFFLINE="1")


def ten_thousand_lines() -> list[tuple[str, bytes]]:
    """(kind, line) pairs: mostly real questions, with empty, invalid UTF-8, NUL, very long and
    hostile lines mixed in at random (seeded) positions."""
    from qa.ingest import load_corpus

    terms = [e.term for e in load_corpus(ROOT / "corpus").entries]
    rng = random.Random(20240601)
    templates = ["what is {t}?", "explain {t}", "how does {t} work", "why would I use {t}?", "{t} vs {u}",
                 "when should I not use {t}", "{t}"]
    pool = [NORMAL, "a good pasta recipe?", "what is an LSTM?", "bagging vs boosting", "dropuot"]
    modifiers = ["", " please", " in simple terms", " for a beginner", " (exam question)"]
    pool += [tpl.format(t=t.lower(), u=rng.choice(terms).lower()) + m for t in terms for tpl in templates for m in modifiers]
    invalid = [b"\xff\xfe what is dropout", b"\xc3\x28", b"abc\x80def", b"\xed\xa0\x80 surrogate bytes",
               b"\xf8\x88\x80\x80\x80", b"what is \xe2\x82 dropout", b"\xc0\xaf../etc/passwd"]
    nul = [b"what is \x00 dropout", b"\x00\x00\x00", b"\x00what fixes overfitting?", b"bagging\x00vs\x00boosting"]
    hostile = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)> what is dropout", "**bold** [x](javascript:alert(1))",
               "| a | b |", "מה זה dropout?", "🤖 what is an LSTM? 🔥", "\u202eevil\u202c dropout", "?!?...", "\x1b[2J\x07 pca",
               "what is dropout\u2028second line?", "\u0085what is pca\u0085", "tab\tseparated\tquestion"]
    long_lines = [("overfitting " * 20_000).encode(), b"x" * 300_000, ("what is dropout? " + "y" * 100_000).encode(),
                  ("é" * 60_000).encode(), ("word " * 40_000 + "\x00" * 1000).encode()]
    out: list[tuple[str, bytes]] = []
    for _ in range(10_000):
        roll = rng.random()
        if roll < 0.70:
            out.append(("normal", rng.choice(pool).encode()))
        elif roll < 0.75:
            out.append(("empty", rng.choice([b"", b"   ", b"\t", b" \t "])))
        elif roll < 0.80:
            out.append(("invalid", rng.choice(invalid)))
        elif roll < 0.85:
            out.append(("nul", rng.choice(nul)))
        elif roll < 0.86:
            out.append(("long", rng.choice(long_lines)))
        elif roll < 0.88:
            out.append(("crlf", rng.choice(pool).encode() + b"\r"))
        else:
            out.append(("hostile", rng.choice(hostile).encode()))
    return out


def test_cli_answers_ten_thousand_stdin_lines_in_order(workdir):
    from qa.query import clean

    lines = ten_thousand_lines()
    stdin = b"\n".join(line for _, line in lines) + b"\n"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "qa", "ask", "--json", "-"], input=stdin, capture_output=True,
                          env=cli_env(workdir), cwd=workdir, timeout=1200)
    elapsed = time.perf_counter() - started
    print(f"\nqa ask --json -: {len(lines)} lines ({len(stdin) / 1e6:.1f} MB) in {elapsed:.1f} s "
          f"= {len(lines) / elapsed:.0f} questions/s")
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert done.stdout.endswith(b"\n")
    out = done.stdout.split(b"\n")[:-1]
    assert len(out) == len(lines), f"{len(out)} output lines for {len(lines)} input lines"
    for number, ((kind, raw), line) in enumerate(zip(lines, out), start=1):
        obj = json.loads(line)
        assert {"question", "answered", "answer", "citations", "reading", "suggestions", "error"} <= set(obj), number
        try:
            text = raw.rstrip(b"\r\n").decode("utf-8")
        except UnicodeDecodeError:
            assert kind == "invalid"
            assert obj["answered"] is False and "not valid UTF-8" in obj["error"], (number, obj)
            continue
        expected = clean(text).text
        assert obj["question"] == expected, f"line {number} ({kind}): question {obj['question'][:80]!r}, want {expected[:80]!r}"
        if kind in ("normal", "crlf"):
            assert obj["question"] == text, number  # a plain question comes back as typed
            assert obj["error"] is None and obj["citations"], (number, obj)
        if kind == "empty":
            assert obj["error"] == "empty question", (number, obj)
        if kind == "long":
            assert CUT_NOTE in obj["answer"], number
        if text == NORMAL:
            assert obj["answered"] and obj["citations"][0]["term"] == "Overfitting", number
        low = obj["answer"].lower()
        assert "<script" not in low and "<img" not in low, (number, obj["answer"][:300])
    print(f"kinds: { {k: sum(1 for kind, _ in lines if kind == k) for k in sorted({k for k, _ in lines})} }")


# --- paths ------------------------------------------------------------------------------------------


GLOSSARY_MD = "# Outside Glossary\n\n## Secret Term\n\nA secret term lives outside the corpus folder.\n"


@pytest.mark.parametrize("how", ["absolute", "relative", "etc-passwd", "chain"])
def test_corpus_symlink_to_a_file_outside_is_refused(tmp_path, fake_embedder, how):
    from qa.bot import Bot

    root = tmp_path / "site"
    shutil.copytree(ROOT / "corpus", root / "corpus", ignore=shutil.ignore_patterns("seed"))
    shutil.copytree(ROOT / "index", root / "index")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text(GLOSSARY_MD)
    link = root / "corpus" / "linked.md"
    if how == "absolute":
        link.symlink_to(outside / "secret.md")
    elif how == "relative":
        link.symlink_to(Path("..") / ".." / "outside" / "secret.md")
    elif how == "etc-passwd":
        link.symlink_to("/etc/passwd")
    else:  # a link to a link inside the folder that itself points outside
        (root / "corpus" / "inner.md").symlink_to(outside / "secret.md")
        link.symlink_to("inner.md")
    index_before = {p.name: p.read_bytes() for p in (root / "index").iterdir()}
    with pytest.raises(CorpusError) as caught:
        Bot.load(make_settings(root, model=fake_embedder.model), embedder=fake_embedder)
    assert "outside the corpus folder" in str(caught.value)
    assert Path(caught.value.path).name in ("linked.md", "inner.md")
    assert {p.name: p.read_bytes() for p in (root / "index").iterdir()} == index_before  # nothing rebuilt
    assert fake_embedder.calls == []  # nothing of the outside file was read into an index


def tree(path: Path) -> dict[str, tuple[int, int]]:
    """Every file under `path`: relative name -> (size, mtime_ns)."""
    out = {}
    for p in path.rglob("*"):
        if p.is_file() or p.is_symlink():
            st = p.lstat()
            out[str(p.relative_to(path))] = (st.st_size, st.st_mtime_ns)
    return out


def call_ask(url: str, question, history=None, timeout: float = 120) -> dict:
    body = json.dumps({"data": [question, history]}).encode()
    request = urllib.request.Request(url + "/gradio_api/call/ask", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/ask/{event_id}", timeout=timeout) as r:
        text = r.read().decode()
    assert "event: complete" in text, text[:2000]
    data = text.split("event: complete", 1)[1].split("data:", 1)[1].strip().splitlines()[0]
    return json.loads(data)[0]


TRAVERSALS = ["../../etc/passwd", "/etc/passwd", "../../../../../../tmp/qa-pwned.jsonl", "..\\..\\windows\\win.ini",
              "~/.ssh/authorized_keys", "file:///etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "$(touch /tmp/qa-pwned)",
              "`touch /tmp/qa-pwned`", "feedback/../../evil.jsonl", "\x00/etc/passwd", "what is dropout; rm -rf /"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The real app, its folder two levels below a base folder that is watched for writes."""
    from apprunner import RunningApp

    base = tmp_path_factory.mktemp("paths")
    root = base / "deep" / "site"
    root.mkdir(parents=True)
    shutil.copytree(ROOT / "corpus", root / "corpus", ignore=shutil.ignore_patterns("seed"))
    shutil.copytree(ROOT / "index", root / "index")
    running = RunningApp(root).wait_ready()
    running.base = base
    yield running
    running.stop()


def test_feedback_log_path_cannot_be_steered_through_the_ask_endpoint(app):
    base, root = app.base, app.root
    etc_passwd = Path("/etc/passwd").read_bytes()
    pwned = [Path("/tmp/qa-pwned"), Path("/tmp/qa-pwned.jsonl")]
    for p in pwned:
        p.unlink(missing_ok=True)
    before = tree(base)
    for question in TRAVERSALS:
        result = call_ask(app.url, question)
        assert "answered" in result and result.get("error") != "internal error", (question, result)
        call_ask(app.url, "what is it?", [question, "../" * 20 + "etc/shadow"])
    after = tree(base)
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    configured = {str(app.feedback_log.relative_to(base)), str(app.feedback_log.relative_to(base)) + ".lock",
                  str((root / "app.log").relative_to(base))}
    assert changed <= configured, f"files written outside the configured log: {sorted(changed - configured)}"
    assert Path("/etc/passwd").read_bytes() == etc_passwd
    assert not any(p.exists() for p in pwned)
    assert not (root.parent / "evil.jsonl").exists() and not (base / "evil.jsonl").exists()


@pytest.mark.parametrize("question", ["what is \ud800 dropout?", "\udfff\ud800 what fixes overfitting", "\ud800"],
                         ids=["in-question", "reversed-pair", "alone"])
def test_lone_surrogate_over_http_is_answered_not_an_internal_error(app, question):
    """JSON allows "\\ud800" escapes, so any HTTP client can send a lone surrogate."""
    result = call_ask(app.url, question)
    assert result.get("error") != "internal error" and result.get("answer") != "Internal error.", result
    assert call_ask(app.url, NORMAL)["citations"][0]["term"] == "Overfitting"


def _load_app_module():
    spec = importlib.util.spec_from_file_location("qa_app_under_test", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chat_refusals_are_logged_only_to_the_configured_log(bot, tmp_path, monkeypatch):
    """The chat reply (the one path that writes refusals) with path-like questions: every write lands
    in the configured log, as data."""
    from qa.feedback import FeedbackLog
    from qa.query import clean

    module = _load_app_module()
    configured = tmp_path / "configured" / "feedback.jsonl"
    demo = module.build_app(bot, FeedbackLog(configured))
    respond = next(f.fn for f in demo.fns.values() if getattr(f, "name", None) == "respond")
    writes: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC):
            writes.append(os.path.realpath(path))
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+"):
            writes.append(os.path.realpath(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    for question in TRAVERSALS:
        reply = respond(question, [])
        if inspect.iscoroutine(reply):
            reply = asyncio.run(reply)
        elif inspect.isgenerator(reply):
            reply = list(reply)
        assert reply, question
    monkeypatch.undo()
    allowed = {os.path.realpath(configured), os.path.realpath(str(configured) + ".lock")}
    assert writes, "refusals were not logged at all"
    assert set(writes) <= allowed, f"writes outside the configured log: {sorted(set(writes) - allowed)}"
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["configured/feedback.jsonl", "configured/feedback.jsonl.lock"]
    logged = [json.loads(line)["question"] for line in configured.read_text().splitlines()]
    assert logged, "refused path-like questions should be logged for staff"
    assert set(logged) <= {clean(q).text for q in TRAVERSALS}, logged  # the question, as data


# --- nothing is unpickled --------------------------------------------------------------------------


PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve", "marshal"}


def product_sources() -> list[Path]:
    return sorted((ROOT / "qa").glob("*.py")) + [ROOT / "app.py"]


def unpickling_uses(path: Path) -> list[str]:
    """Code (not comments or docstrings) that could unpickle: pickle-family imports or names,
    torch.load, and allow_pickle= anything but False."""
    tree_ = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree_):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where} import {a.name}" for a in node.names if a.name.split(".")[0] in PICKLE_MODULES]
        elif isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[0]
            if module in PICKLE_MODULES:
                found.append(f"{where} from {node.module} import ...")
            if module == "torch" and any(a.name == "load" for a in node.names):
                found.append(f"{where} from torch import load")
        elif isinstance(node, ast.Name) and node.id in PICKLE_MODULES:
            found.append(f"{where} name {node.id}")
        elif isinstance(node, ast.Attribute):
            if node.attr == "load" and isinstance(node.value, ast.Name) and node.value.id == "torch":
                found.append(f"{where} torch.load")
            if node.attr in PICKLE_MODULES or node.attr in ("loads_pickle", "Unpickler"):
                found.append(f"{where} .{node.attr}")
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                found.append(f"{where} allow_pickle={ast.unparse(node.value)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in PICKLE_MODULES:
            found.append(f"{where} string {node.value!r} (dynamic import?)")
    # textual backstop for code shapes the AST walk might miss (comments and docstrings excluded)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("#", 1)[0]
        if "torch.load(" in code or "allow_pickle=True" in code.replace(" ", ""):
            found.append(f"{path.name}:{number} {line.strip()}")
    return found


def test_product_source_has_no_unpickling():
    sources = product_sources()
    assert len(sources) >= 10
    found = [use for path in sources for use in unpickling_uses(path)]
    assert found == [], "unpickling in the product: " + "; ".join(found)


def test_the_scan_would_catch_unpickling(tmp_path):
    """The scanner itself: each forbidden shape is found; prose about pickling is not."""
    for code in ("import pickle\n", "from pickle import loads\n", "import torch\nx = torch.load('f')\n",
                 "import numpy as np\nnp.load('f.npy', allow_pickle=True)\n", "import joblib\n",
                 "import importlib\nimportlib.import_module('pickle')\n"):
        path = tmp_path / "probe.py"
        path.write_text(code)
        assert unpickling_uses(path), code
    path = tmp_path / "prose.py"
    path.write_text('"""Nothing is pickled."""\n# no pickle here\nx = 1\n')
    assert unpickling_uses(path) == []


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any unpickling while active fails the test."""
    import _pickle

    def refuse(*args, **kwargs):
        raise AssertionError("something was unpickled")

    class Refuse:
        def __init__(self, *args, **kwargs):
            refuse()

    for module in (pickle, _pickle):
        monkeypatch.setattr(module, "load", refuse)
        monkeypatch.setattr(module, "loads", refuse)
        monkeypatch.setattr(module, "Unpickler", Refuse)
    yield


def test_index_is_json_and_faiss_only_and_loads_without_unpickling(bot, real_embedder, no_unpickling):
    from qa.bot import Bot
    from qa.index import load_index, read_manifest

    for index_dir in (ROOT / "index", bot.settings.index_dir):
        files = sorted(p.name for p in index_dir.iterdir() if not p.name.startswith("."))
        assert files, index_dir
        odd = [name for name in files if not name.endswith((".json", ".jsonl", ".faiss"))]
        assert odd == [], f"index files that are not .json/.jsonl/.faiss in {index_dir}: {odd}"
        manifest = read_manifest(index_dir)
        assert manifest.faiss_file.endswith(".faiss") and manifest.chunks_file.endswith(".jsonl")
        vectors = load_index(index_dir, manifest)
        assert vectors.faiss.ntotal == manifest.chunk_count
    loaded = Bot.load(bot.settings, embedder=real_embedder)  # the whole load path, pickle refused
    assert loaded.ask(NORMAL).citations[0].term == "Overfitting"


def test_a_rebuilt_index_is_json_and_faiss_only(tmp_path, fake_embedder, no_unpickling):
    from qa.bot import Bot

    shutil.copytree(ROOT / "corpus", tmp_path / "corpus", ignore=shutil.ignore_patterns("seed"))
    Bot.load(make_settings(tmp_path, model=fake_embedder.model), embedder=fake_embedder)  # no index: built
    files = sorted(p.name for p in (tmp_path / "index").iterdir() if not p.name.startswith("."))
    assert files and all(name.endswith((".json", ".jsonl", ".faiss")) for name in files), files
    for path in (tmp_path / "index").iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


def test_script_and_style_blocks_are_dropped_but_comparisons_kept(bot):
    answer = bot.ask("<script>alert(1)</script>what is dropout?")
    assert answer.question == "what is dropout?" and answer.citations[0].term == "Dropout"
    assert "alert" not in answer.answer
    kept = bot.ask("is precision < recall when the threshold > 0.5?")
    assert kept.question == "is precision < recall when the threshold > 0.5?"
    assert "<" not in kept.answer.replace("&lt;", "")  # echoed as text, never as markup
    encoded = bot.ask("what is dropout &amp; why use it? &lt;script&gt;alert(1)&lt;/script&gt;")  # entities decoded first
    assert encoded.question == "what is dropout & why use it?" and "alert" not in encoded.answer
