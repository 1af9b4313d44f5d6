"""The real app on 127.0.0.1, asked through gradio_client and raw HTTP."""
from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

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


def post_api(url: str, body: bytes | dict) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + "/api/ask", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_json_api_answers_follow_ups_and_refuses(app):
    status, result = post_api(app.url, {"question": "what fixes overfitting?"})
    assert status == 200 and result["answered"] is True
    assert result["citations"][0]["term"] == "Overfitting"
    assert result["citations"][0]["quotes"][0] in result["answer"].replace("*", "").replace("†", "")  # completions are in italics
    _, follow = post_api(app.url, {"question": "what problem does it solve?", "history": ["what is an LSTM?"]})
    assert follow["citations"][0]["term"] == "Long Short-Term Memory (LSTM)"
    assert follow["reading"] == "what problem does Long Short-Term Memory (LSTM) solve?"
    _, chat = post_api(app.url, {"question": "how is it different from an RNN?",
                                 "history": [{"role": "user", "content": "what is an LSTM?"}, {"role": "assistant", "content": "..."}]})
    assert chat["citations"][0]["term"] == "Long Short-Term Memory (LSTM)"
    _, refused = post_api(app.url, {"question": "a good pasta recipe?"})
    assert refused["answered"] is False and refused["suggestions"]


@pytest.mark.parametrize("body", [b"not json", b"", b"[1, 2]", b'{"question": 5}', b'{"question": "x", "history": "not a list"}',
                                  b"\xff\xfe{", b'{"question": "x", "history": [' + b",".join([b"0"] * 200_000) + b"]}"])
def test_json_api_rejects_a_malformed_request_with_a_short_clear_message(app, body):
    status, result = post_api(app.url, body)
    assert status == 422
    assert result["detail"].startswith('expected {"question": "...", "history": [...]}: ')
    assert len(json.dumps(result)) < 1000  # names the problem, never echoes the request back
    assert post_api(app.url, {"question": "what is dropout?"})[1]["citations"][0]["term"] == "Dropout"


def test_json_api_refuses_an_oversized_body_and_stays_responsive(app):
    status, result = post_api(app.url, b'{"question": "' + b"x" * 3_000_000 + b'"}')
    assert status == 413 and "over 1,000,000 bytes" in result["detail"]
    assert post_api(app.url, {"question": "what is dropout?"})[1]["citations"][0]["term"] == "Dropout"


def test_questions_refused_through_either_api_reach_the_staff_log(app):
    from gradio_client import Client

    post_api(app.url, {"question": "how do I knit a scarf for my grandmother?"})
    Client(app.url, verbose=False).predict("which wine goes with salmon?", None, api_name="/ask")
    post_api(app.url, {"question": "what fixes overfitting?"})  # answered: not logged
    post_api(app.url, {"question": "what is xgboost?"})  # answered from a passing mention: a gap all the same
    post_api(app.url, {"question": "how do I tune a violin?"})  # logged after the batch before it is
    deadline = time.monotonic() + 30  # written once the callers have their answers
    while "how do I tune a violin?" not in app.feedback_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    logged = [json.loads(line) for line in app.feedback_log.read_text().splitlines()]
    questions = {r["question"] for r in logged if r["kind"] == "refused"}
    assert {"how do I knit a scarf for my grandmother?", "which wine goes with salmon?"} <= questions
    assert "what fixes overfitting?" not in {r["question"] for r in logged}
    assert [r["question"] for r in logged if r["kind"] == "no entry"] == ["what is xgboost?"]


def test_json_api_needs_no_content_type(app):
    request = urllib.request.Request(app.url + "/api/ask", data=b'{"question": "what is dropout?"}')  # curl's default
    with urllib.request.urlopen(request, timeout=120) as r:
        assert json.loads(r.read())["citations"][0]["term"] == "Dropout"


def test_json_api_empty_question_gets_a_message_and_a_missing_one_a_422(app):
    for body in ({"question": ""}, {"question": "   "}, {"question": "<img src=x onerror=alert(1)>"}):
        status, result = post_api(app.url, body)
        assert status == 200 and result["answered"] is False and result["error"] == "empty question"
    for body in ({}, {"q": "what is dropout?"}, {"question": None}):
        status, result = post_api(app.url, body)
        assert status == 422 and result["detail"].startswith('expected {"question": "...", "history": [...]}: question')


def test_json_api_answers_32_concurrent_callers_each_their_own(app):
    questions = ["what fixes overfitting?", "what is an LSTM?", "bagging vs boosting", "a good pasta recipe?", "dropuot",
                 "what is a kernel?", "how do GANs work?", "x" * 100_000]
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda i: post_api(app.url, {"question": questions[i % len(questions)] + "?" * (i // 8)}), range(64)))
    assert all(status == 200 for status, _ in results)
    for i, (_, result) in enumerate(results):
        alone = post_api(app.url, {"question": questions[i % len(questions)] + "?" * (i // 8)})[1]
        assert result == alone, i


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


def test_staff_tab_can_be_turned_off_where_students_open_the_app(tmp_path):
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus", ignore=shutil.ignore_patterns("seed"))
    shutil.copytree(ROOT / "index", tmp_path / "index")
    labels = {}
    for setting in ("1", "0"):
        running = RunningApp(tmp_path, extra_env={"QA_STAFF_TAB": setting}).wait_ready()
        try:
            with urllib.request.urlopen(running.url + "/config", timeout=60) as r:
                config = json.loads(r.read())
            labels[setting] = {c.get("props", {}).get("label") for c in config["components"]}
            assert post_api(running.url, {"question": "what is dropout?"})[1]["answered"]
        finally:
            running.stop()
    assert "Staff" in labels["1"] and "Staff" not in labels["0"]
    assert "Glossary" in labels["0"]


def test_json_api_other_methods_still_reach_gradios_router(app):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(app.url + "/api/ask", timeout=30)  # GET
    assert error.value.code == 405
    with urllib.request.urlopen(app.url + "/gradio_api/info", timeout=30) as r:  # gradio's own routes, as before
        assert r.status == 200 and "/ask" in json.loads(r.read())["named_endpoints"]


def test_direct_routes_answer_a_failing_handler_with_a_short_500_not_a_traceback():
    from fastapi.routing import APIRoute
    from starlette.responses import PlainTextResponse
    from starlette.testclient import TestClient

    from app import DirectRoutes

    async def broken(request):
        raise RuntimeError("secret internals")

    async def inner(scope, receive, send):  # stands for gradio's app: everything else goes there
        await PlainTextResponse("gradio")(scope, receive, send)

    client = TestClient(DirectRoutes(inner, [APIRoute("/api/ask", broken, methods=["POST"])]))
    response = client.post("/api/ask", content=b"{}")
    assert response.status_code == 500 and response.json() == {"detail": "internal error: please try again"}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert client.get("/api/ask").text == "gradio" and client.post("/other").text == "gradio"
    # From a web page: through gradio's stack, whose CORS rules decide what the page may read.
    assert client.post("/api/ask", content=b"{}", headers={"Origin": "http://localhost:3000"}).text == "gradio"


def test_json_api_from_a_web_page_keeps_gradios_cors_rules(app):
    def origin_allowed(origin: str) -> str | None:
        request = urllib.request.Request(app.url + "/api/ask", data=json.dumps({"question": "what is dropout?"}).encode(),
                                         headers={"Content-Type": "application/json", "Origin": origin})
        with urllib.request.urlopen(request, timeout=60) as r:
            assert json.loads(r.read())["citations"][0]["term"] == "Dropout"
            return r.headers.get("Access-Control-Allow-Origin")

    assert origin_allowed("http://localhost:3000") == "http://localhost:3000"  # gradio allows local pages
    assert origin_allowed("https://elsewhere.example") is None


def test_the_queue_poll_the_app_slows_is_still_gradios():
    import gradio as gr

    from app import QUEUE_POLL_S, quiet_queue

    with gr.Blocks() as demo:
        gr.Markdown("x")
    demo.queue()
    assert demo._queue.sleep_when_free < QUEUE_POLL_S  # gradio's own default (1 ms): the attribute is still there
    quiet_queue(demo)
    assert demo._queue.sleep_when_free == QUEUE_POLL_S
