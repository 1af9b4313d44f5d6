"""Answering many callers at once: their questions are encoded together.

`answer_all` is the one safe way to answer a batch (a failure is answered question by question,
never raised). `Batcher` serves concurrent callers of an asyncio server: while one batch is being
answered, new questions wait, and the next batch takes all of them (up to `max_size`), so a busy
server makes one model call for many questions and an idle one answers at once, with no timer."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from .bot import Bot
from .types import Answer

log = logging.getLogger("qa")


def internal_error(question: Any) -> Answer:
    text = question if isinstance(question, str) else ""
    return Answer(question=text[:200], answered=False, answer="Internal error: please try again.", error="internal error")


def answer_all(bot: Bot, questions: list[Any], histories: list[Any] | None = None) -> list[Answer]:
    """`bot.ask_many`, except that nothing raises: if the batch fails, each question is answered
    on its own, so one bad input spoils nothing for the others."""
    histories = list(histories) if histories is not None else [None] * len(questions)
    try:
        return bot.ask_many(questions, histories)
    except Exception:
        log.exception("batched ask failed; answering one by one")
    answers = []
    for question, history in zip(questions, histories):
        try:
            answers.append(bot.ask(question, history))
        except Exception:
            log.exception("ask failed")
            answers.append(internal_error(question))
    return answers


class Batcher:
    """Collects questions from concurrent coroutines and answers them in batches, one batch at a
    time, in a worker thread (the event loop stays free to accept more)."""

    def __init__(self, bot: Bot, max_size: int = 32):
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size!r}")
        self.bot = bot
        self.max_size = max_size
        self._waiting: list[tuple[Any, Any, asyncio.Future]] = []
        self._draining = False
        self._task: asyncio.Task | None = None  # kept: the loop holds only a weak reference
        self.batches = 0  # how many model calls answered the questions so far

    async def ask(self, question: Any, history: Any = None) -> Answer:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((question, history, future))
        if not self._draining:
            self._draining = True
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.max_size], self._waiting[self.max_size :]
                answers = await asyncio.to_thread(answer_all, self.bot, [q for q, _, _ in batch], [h for _, h, _ in batch])
                self.batches += 1
                for (_, _, future), answer in zip(batch, answers):
                    if not future.done():  # the caller may have gone away
                        future.set_result(answer)
                batch = []
        finally:
            self._draining = False
            for _, _, future in batch + self._waiting:  # cancelled (the server is stopping): release every caller
                if not future.done():
                    future.cancel()
            self._waiting = []
