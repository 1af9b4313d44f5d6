"""The chat app: a thin Gradio skin over `qa.bot.Bot`. No retrieval logic lives here.

Run `python app.py` (host and port from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, 127.0.0.1:7860
by default). Settings come from the environment (see README)."""
from __future__ import annotations

import logging
import os
from typing import Any

import gradio as gr
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError

from qa.answer import sources_markdown
from qa.batching import Batcher, answer_all
from qa.bot import Bot, askable, message_text
from qa.errors import BusyError, QAError
from qa.feedback import FeedbackLog
from qa.types import Answer

log = logging.getLogger("qa.app")

EXAMPLES = [
    "what fixes overfitting?",
    "what is an LSTM?",
    "bagging vs boosting",
    "how can I shrink a dataset with too many columns?",
]
CSS = """
.gradio-container {max-width: 1100px !important; margin: auto;}
#title h1 {margin-bottom: 0;}
#title p {color: var(--body-text-color-subdued); margin-top: 4px;}
#glossary-table, #glossary-table *, #review-table, #review-table * {font-family: var(--font) !important;}
"""


def log_feedback(feedback: FeedbackLog, records: list[tuple]) -> None:
    """Append (kind, question, answer, terms) records for the staff review; a full disk or a
    read-only folder must not cost anyone an answer."""
    try:
        feedback.append_many(records)
    except OSError:
        log.exception("cannot write the feedback log %s", feedback.path)


def log_gaps(feedback: FeedbackLog, answers: list[Answer]) -> None:
    """Questions the glossary could not answer, or answered only from a passing mention of what
    was asked about ("what is XGBoost?"), from the chat and the APIs alike."""
    log_feedback(feedback, [("refused" if not a.answered else "no entry", a.question, a.answer, [c.term for c in a.citations])
                            for a in answers if a.error is None and (not a.answered or a.no_entry is not None)])


def build_app(bot: Bot, feedback: FeedbackLog, staff_tab: bool = True) -> gr.Blocks:
    """The chat app. `staff_tab` shows the students' unanswered questions to every visitor: turn it
    off where students can open the app (staff then read them with `qa review`)."""
    glossary_names = sorted({e.glossary for e in bot.entries})

    def respond(message: str, history: list[dict]) -> list[gr.ChatMessage]:
        try:
            answer = bot.ask(message, history)
        except Exception:  # never a traceback in the chat
            log.exception("ask failed")
            return [gr.ChatMessage(role="assistant", content="Sorry, something went wrong answering that. Please try again.")]
        log_gaps(feedback, [answer])
        options = [{"value": f"what is {term}?", "label": term} for term in answer.suggestions[:3]]
        messages = [gr.ChatMessage(role="assistant", content=answer.answer, options=None if answer.citations else options)]
        if answer.citations:
            title = f"Sources ({len(answer.citations)})" if answer.answered else "Nearest terms"
            messages.append(gr.ChatMessage(role="assistant", content=sources_markdown(answer),
                                           metadata={"title": title, "status": "done"}, options=options))
        return messages

    def nonempty(message: str):
        """A question with nothing to look up (blank, invisible characters, only punctuation) is
        not sent, so it leaves no empty bubble in the chat."""
        return gr.validate(askable(message), "Please type a question, for example: what fixes overfitting?")

    def vote(history: list[dict], data: gr.LikeData) -> None:
        if data.liked not in (True, False):
            return  # a vote taken back
        question = next((message_text(m) for m in reversed(history[: data.index]) if m.get("role") == "user"), "")
        value = data.value if isinstance(data.value, list) else [data.value]
        answer = "\n\n".join(v if isinstance(v, str) else str(v) for v in value)
        log_feedback(feedback, [("up" if data.liked else "down", question, answer, None)])

    def ask_api(question: list[str], history: list | None = None) -> tuple[list[dict]]:
        """Answer a question, given optionally with a list of earlier questions or chat messages.
        Returns the JSON object of `qa ask --json`: question, answered, answer (markdown),
        citations (term, glossary, source, score, quotes), reading, suggestions, error.

        Concurrent callers' questions are batched (one model call for all of them)."""
        histories = [h if isinstance(h, list) else None for h in (history or [None] * len(question))]
        answers = answer_all(bot, question, histories)
        log_gaps(feedback, answers)
        return ([a.model_dump() for a in answers],)

    def glossary_rows() -> list[list[str]]:
        return [[e.term, e.definition, ", ".join(e.aliases), ", ".join(e.see_also), f"{e.glossary} · {e.source}"] for e in bot.entries]

    def review_rows() -> list[list[Any]]:
        return [[r.count, r.kind, r.question, r.last] for r in feedback.review()]

    with gr.Blocks(title="Glossary help desk") as demo:
        gr.Markdown(
            f"# Glossary help desk\nAsk in your own words. Answers quote the glossary ({', '.join(glossary_names)}) "
            f"and cite each definition; questions it does not cover get the nearest terms instead.",
            elem_id="title",
        )
        with gr.Tab("Ask"):
            chatbot = gr.Chatbot(label="Answers", show_label=False, height=640, feedback_options=("Like", "Dislike"),
                                 placeholder="Ask about any term in the glossary, or pick an example below.")
            chatbot.like(vote, chatbot, None, api_visibility="private")
            gr.ChatInterface(
                respond, chatbot=chatbot, examples=EXAMPLES, cache_examples=False,
                textbox=gr.Textbox(placeholder="e.g. what fixes overfitting?", max_length=5000, submit_btn=True, show_label=False,
                                   label="Your question"),
                api_visibility="private", concurrency_limit=4, fill_height=False, validator=nonempty,
            )
        with gr.Tab("Glossary"):
            gr.Markdown(f"{len(bot.entries)} terms. Type to search terms, definitions and aliases.")
            gr.Dataframe(
                value=glossary_rows(), headers=["Term", "Definition", "Also called", "See also", "Source"],
                show_search="search", interactive=False, wrap=True, column_widths=["16%", "46%", "14%", "14%", "10%"],
                elem_id="glossary-table",
            )
        if staff_tab:
            with gr.Tab("Staff"):
                gr.Markdown("Unanswered, no-entry and down-voted questions, most frequent first: candidates for new entries, aliases, "
                            "or example questions (an `Asked:` line below the heading of the entry that answers one; see the README).")
                review = gr.Dataframe(value=review_rows, headers=["Count", "Kind", "Question", "Last asked"],
                                      interactive=False, wrap=True, elem_id="review-table")
                gr.Button("Refresh").click(review_rows, None, review, api_visibility="private")
        gr.api(ask_api, api_name="ask", batch=True, max_batch_size=32, concurrency_limit=2)
    return demo


MAX_BODY = 1_000_000  # bytes; a question is cut to 1,000 characters anyway
MAX_HISTORY = 50  # earlier turns a request may carry (the bot reads the last few)


class AskRequest(BaseModel):
    question: str
    history: list[str | dict] | None = Field(default=None, max_length=MAX_HISTORY)  # earlier questions, or chat messages


def problem(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers or None)


def api_routes(bot: Bot, feedback: FeedbackLog) -> list[APIRoute]:
    """POST /api/ask: one JSON request, one JSON answer (the object of `qa ask --json`), with
    concurrent callers' questions encoded together. Lighter than gradio's two-step queue API.
    A bad request gets a short message naming the problem, never an echo of what was sent."""
    batcher = Batcher(bot, max_size=32, on_answers=lambda answers: log_gaps(feedback, answers))  # in its worker thread

    async def ask(request: Request) -> Response:
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > MAX_BODY:
                return problem(413, f"request body over {MAX_BODY:,} bytes")
        try:
            asked = AskRequest.model_validate_json(bytes(body))
        except ValidationError as exc:
            reasons = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:3]]
            return problem(422, 'expected {"question": "...", "history": [...]}: ' + "; ".join(reasons))
        try:
            answer = await batcher.ask(asked.question, asked.history)
        except BusyError as exc:
            return problem(503, str(exc), **{"Retry-After": "1"})
        return Response(answer.model_dump_json(), media_type="application/json")  # pydantic writes the JSON itself

    return [APIRoute("/api/ask", ask, methods=["POST"], name="ask")]


class DirectRoutes:
    """ASGI: the app's own JSON routes (POST /api/ask) go straight to their handlers; everything
    else goes through gradio's app as before. gradio's stack (its CORS and compression layers,
    FastAPI's telemetry, body limit, exception and dependency machinery) cost the event loop
    more per request than answering a ranked question does; the route needs none of it (it
    limits its own body and never echoes input). A request from a web page (one with an Origin
    header) still goes through gradio, so that its CORS rules apply as before, and so do other
    methods on the same paths (GET /api/ask: 405)."""

    def __init__(self, inner, routes: list[APIRoute]):
        self.inner = inner
        self.endpoints = {(method, route.path): route.endpoint for route in routes for method in route.methods}

    async def __call__(self, scope, receive, send) -> None:
        endpoint = None
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            path = scope["path"].removeprefix(scope.get("root_path", "") or "") or "/"
            endpoint = self.endpoints.get((scope["method"], path))
        if endpoint is None:
            await self.inner(scope, receive, send)
            return
        try:
            response = await endpoint(Request(scope, receive))
        except Exception:  # a bug must not reach the caller as a traceback
            log.exception("%s %s failed", scope["method"], scope["path"])
            response = problem(500, "internal error: please try again")
        await response(scope, receive, send)


def serve_directly(app, routes: list[APIRoute]) -> None:
    """Put DirectRoutes in front of a started gradio app's middleware stack (Starlette builds the
    stack on the first request and keeps it in `middleware_stack`)."""
    app.middleware_stack = DirectRoutes(app.middleware_stack or app.build_middleware_stack(), routes)


QUEUE_POLL_S = 0.02


def quiet_queue(demo: gr.Blocks) -> None:
    """gradio's queue looks for work every millisecond while it has none: 1,000 wake-ups a second,
    each taking the GIL from the thread answering questions, and several percent of a core on an
    app nobody is using. Every 20 ms is still instant to a person. (gradio has no setting for it;
    tests/test_app.py fails if the attribute goes away in a gradio upgrade.)"""
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = QUEUE_POLL_S


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for chatty in ("bm25s", "httpx"):  # a line per index build and per startup probe: noise to a user
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
        sessions = int(os.environ.get("QA_MAX_SESSIONS", "200"))
        staff_tab = {"1": True, "0": False}[os.environ.get("QA_STAFF_TAB", "1").strip()]
    except ValueError as exc:
        raise SystemExit(f"error: GRADIO_SERVER_PORT and QA_MAX_SESSIONS must be whole numbers ({exc})") from None
    except KeyError:
        raise SystemExit(f"error: QA_STAFF_TAB must be 1 or 0, not {os.environ['QA_STAFF_TAB']!r}") from None
    try:
        bot = Bot.load()  # notices are logged by the qa logger
    except QAError as exc:
        raise SystemExit(f"error: {exc}") from None
    feedback = FeedbackLog(bot.settings.feedback_log)
    demo = build_app(bot, feedback, staff_tab=staff_tab)
    demo.queue(default_concurrency_limit=4, max_size=512)
    quiet_queue(demo)
    routes = api_routes(bot, feedback)
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=port,
        theme=gr.themes.Soft(primary_hue="indigo"),
        css=CSS,
        show_error=False,
        # Each browser tab and each API caller without a session is a session; keeping the most
        # recent 200 (not gradio's default 10,000) bounds memory on a help desk left running.
        state_session_capacity=sessions,
        app_kwargs={"routes": routes},  # before gradio's own routes
        prevent_thread_lock=True,
    )
    serve_directly(demo.server_app, routes)
    demo.block_thread()


if __name__ == "__main__":
    main()
