"""The real app on 127.0.0.1, asked through gradio_client and raw HTTP."""
from __future__ import annotations

import json
import shutil
import socket
import threading
import urllib.request

import pytest

from apprunner import RunningApp
from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    shutil.copytree(ROOT / "corpus", root / "corpus", ignore=shutil.ignore_patterns("seed"))
    shutil.copytree(ROOT / "index", root / "index")
    running = RunningApp(root).wait_ready()
    yield running
    running.stop()


def test_binds_loopback_only_by_default(app):
    assert "Running on local URL:  http://127.0.0.1:" in app.log()
    other = [a for a in {i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} if not a.startswith("127.")]
    for address in other:
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((address, app.port)) != 0, f"app reachable on {address}"


def test_fresh_start_embeds_nothing(app):
    assert "Rebuilding" not in app.log()


def test_ask_endpoint_through_gradio_client(app):
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    result = client.predict("what fixes overfitting?", None, api_name="/ask")
    assert result["answered"] is True
    assert [c["term"] for c in result["citations"]][0] == "Overfitting"
    assert {"question", "answered", "answer", "citations"} <= set(result)
    follow = client.predict("what problem does it solve?", ["what is an LSTM?"], api_name="/ask")
    assert follow["citations"][0]["term"] == "Long Short-Term Memory (LSTM)"
    assert follow["reading"] == "what problem does Long Short-Term Memory (LSTM) solve?"
    refused = client.predict("a good pasta recipe?", api_name="/ask")
    assert refused["answered"] is False and refused["suggestions"]


def call_raw(url: str, question: str) -> dict:
    request = urllib.request.Request(url + "/gradio_api/call/ask", data=json.dumps({"data": [question, None]}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/ask/{event_id}", timeout=120) as r:
        body = r.read().decode()
    assert "event: complete" in body, body
    data = body.split("event: complete", 1)[1].split("data:", 1)[1].strip().splitlines()[0]
    return json.loads(data)[0]


def test_fifty_concurrent_users_all_get_answers(app):
    questions = ["what fixes overfitting?", "what is an LSTM?", "bagging vs boosting", "a good pasta recipe?", "dropuot"]
    results: list[dict | Exception] = [None] * 50

    def user(i: int) -> None:
        try:
            results[i] = call_raw(app.url, questions[i % len(questions)])
        except Exception as exc:  # recorded, asserted below
            results[i] = exc

    threads = [threading.Thread(target=user, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    errors = [r for r in results if not isinstance(r, dict)]
    assert errors == []
    for i, result in enumerate(results):
        assert result["question"] == questions[i % len(questions)]
        assert result["citations"], result


@pytest.mark.parametrize("question", ["", "   ", "x" * 1_000_000, "\x00\x07 what is dropout", "<script>alert(1)</script>", "🤖🤖 what is dropout", "מה זה dropout"])
def test_bad_questions_over_http_get_an_answer_not_an_error(app, question):
    result = call_raw(app.url, question)
    assert "answered" in result and "answer" in result
    assert "Traceback" not in result["answer"]


def test_each_session_has_its_own_history(app):
    from gradio_client import Client

    alice, bob = Client(app.url, verbose=False), Client(app.url, verbose=False)
    alice.predict("what is an LSTM?", None, api_name="/ask")
    # Bob's follow-up has no history of his own: it is not read as being about Alice's LSTM.
    result = bob.predict("what problem does it solve?", None, api_name="/ask")
    assert result["reading"] is None
