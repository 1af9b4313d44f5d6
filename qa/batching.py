"""Answering many callers at once: their questions are encoded together.

`answer_all` is the one safe way to answer a batch (a failure is answered question by question,
never raised). `Batcher` serves concurrent callers of an asyncio server: while one batch is being
answered, new questions wait, and the next batch takes all of them (up to `max_size`; as soon as
`AHEAD` wait, so that its encoding overlaps the ranking of the one before), so a busy server
makes one model call for many questions and an idle one answers at once, with no timer."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from .bot import Bot
from .errors import BusyError
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
        log.exception("batched ask failed; answering the %d questions one by one", len(questions))
    answers = []
    for question, history in zip(questions, histories):
        try:
            answers.append(bot.ask(question, history))
        except Exception as exc:  # the batch's traceback is logged above; one line each here
            log.error("ask failed: %r", exc)
            answers.append(internal_error(question))
    return answers


class Batcher:
    """Collects questions from concurrent coroutines and answers them in batches, in worker
    threads (the event loop stays free to accept more), two stages at a time: while one batch is
    ranked (Python, one core), the next one's vectors are made (the model, on the cores the
    ranking leaves). At most `max_waiting` questions wait; beyond that `ask` raises BusyError at
    once rather than queueing without end.
    `on_answers`, if given, gets each batch's answers after its callers have them (the app logs
    refusals for the staff there), in a worker thread; its failures are logged, never raised."""

    AHEAD = 8  # this many waiting questions are worth encoding while another batch is ranked

    def __init__(self, bot: Bot, max_size: int = 32, max_waiting: int = 1024,
                 on_answers: Callable[[list[Answer]], None] | None = None):
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size!r}")
        if max_waiting < max_size:
            raise ValueError(f"max_waiting must be at least max_size ({max_size}), got {max_waiting!r}")
        self.bot = bot
        self.max_size = max_size
        self.max_waiting = max_waiting
        self.on_answers = on_answers  # called with each batch's answers in a worker thread, once they are out
        self._waiting: list[tuple[Any, Any, asyncio.Future]] = []
        self._task: asyncio.Task | None = None  # kept: the loop holds only a weak reference
        self._enough = asyncio.Event()
        self.batches = 0  # how many model calls answered the questions so far

    async def ask(self, question: Any, history: Any = None) -> Answer:
        if len(self._waiting) >= self.max_waiting:
            raise BusyError(f"{len(self._waiting)} questions are waiting already; try again in a moment")
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((question, history, future))
        if len(self._waiting) >= self.AHEAD:
            self._enough.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def join(self) -> None:
        """Wait until every waiting question is answered and handed to `on_answers`."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _hand_out(self, batch: list, task: asyncio.Task) -> None:
        try:
            answers = await task
        except Exception:  # no thread to run it (the server is stopping): answer, never hang
            log.exception("cannot answer a batch")
            answers = [internal_error(q) for q, _, _ in batch]
        self.batches += 1
        for (_, _, future), answer in zip(batch, answers):
            if not future.done():  # the caller may have gone away
                future.set_result(answer)
        if self.on_answers is not None:  # after the callers have their answers
            try:
                await asyncio.to_thread(self._after, answers)
            except Exception:  # no thread to run it (the server is stopping)
                log.exception("cannot hand a batch's answers on")

    def _after(self, answers: list[Answer]) -> None:
        try:
            self.on_answers(answers)
        except Exception:  # a log that cannot be written must not cost anyone an answer
            log.exception("on_answers failed")

    async def _drain(self) -> None:
        """Take a batch, make its vectors (`Bot.prefetch`), hand out the answers of the batch
        ranked meanwhile, then rank this one (`answer_all`, which finds the vectors made)."""
        batch: list = []
        ranking: tuple[list, asyncio.Task] | None = None
        try:
            while self._waiting or ranking is not None:
                if ranking is not None and len(self._waiting) < self.AHEAD:
                    # Encode ahead only a batch worth it: wait for enough questions, or for the
                    # batch being ranked to finish (then take whatever is waiting).
                    self._enough.clear()
                    enough = asyncio.ensure_future(self._enough.wait())
                    try:
                        await asyncio.wait([ranking[1], enough], return_when=asyncio.FIRST_COMPLETED)
                    finally:  # also when the server stops meanwhile
                        enough.cancel()
                batch, self._waiting = self._waiting[: self.max_size], self._waiting[self.max_size :]
                if batch:
                    try:  # vectors only: ask_many finds them remembered, and makes any missing itself
                        await asyncio.to_thread(self.bot.prefetch, [q for q, _, _ in batch])
                    except Exception:
                        log.exception("cannot encode a batch ahead; it is encoded when answered")
                if ranking is not None:
                    await self._hand_out(*ranking)
                    ranking = None
                if batch:
                    questions, histories = [q for q, _, _ in batch], [h for _, h, _ in batch]
                    ranking = (batch, asyncio.create_task(asyncio.to_thread(answer_all, self.bot, questions, histories)))
                    batch = []
        finally:
            # Cancelled (the server is stopping): release every caller still waiting.
            if ranking is not None:
                ranking[1].cancel()
                batch = batch + ranking[0]
            for _, _, future in batch + self._waiting:
                if not future.done():
                    future.cancel()
            self._waiting = []
