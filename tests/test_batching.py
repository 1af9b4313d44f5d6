"""Answering concurrent callers together: same answers as one at a time, fewer model calls, and
no failure of one question or of the batch reaches a caller as an exception."""
from __future__ import annotations

import asyncio

import pytest

from qa.batching import Batcher, answer_all

pytestmark = pytest.mark.slow

QUESTIONS = ["what fixes overfitting?", "what is an LSTM?", "bagging vs boosting", "a good pasta recipe?", "dropuot",
             "", "how can I shrink a dataset with too many columns?", "<script>alert(1)</script> what is dropout"]


def test_concurrent_callers_get_the_answers_they_would_get_alone_in_few_batches(bot):
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(40)]
    alone = [bot.ask(q) for q in questions]
    batcher = Batcher(bot, max_size=32)

    async def everyone():
        return await asyncio.gather(*(batcher.ask(q) for q in questions))

    together = asyncio.run(everyone())
    assert [a.model_dump() for a in together] == [a.model_dump() for a in alone]
    assert batcher.batches == 2  # 40 waiting callers, at most 32 a batch


def test_a_follow_up_keeps_its_own_history_inside_a_batch(bot):
    batcher = Batcher(bot)

    async def both():
        return await asyncio.gather(batcher.ask("what problem does it solve?", ["what is an LSTM?"]),
                                    batcher.ask("what problem does it solve?", ["what is a GAN?"]))

    lstm, gan = asyncio.run(both())
    assert lstm.citations[0].term == "Long Short-Term Memory (LSTM)"
    assert gan.citations[0].term == "Generative Adversarial Network (GAN)"


def test_a_failing_batch_is_answered_one_by_one_and_a_failing_question_alone(bot, monkeypatch):
    real_ask_many = bot.ask_many

    def broken(questions, histories=None):
        if len(questions) > 1 or questions[0] == "poison":
            raise RuntimeError("boom")
        return real_ask_many(questions, histories)

    monkeypatch.setattr(bot, "ask_many", broken)
    answers = answer_all(bot, ["what is dropout?", "poison", "what is a kernel?"])
    assert answers[0].citations[0].term == "Dropout"
    assert answers[1].answered is False and answers[1].error == "internal error" and "Traceback" not in answers[1].answer
    assert answers[2].answered and answers[2].citations


def test_stopping_the_server_releases_waiting_callers(bot, monkeypatch):
    import threading

    started = threading.Event()
    release = threading.Event()

    real_ask_many = bot.ask_many

    def slow(questions, histories=None):
        started.set()
        release.wait(5)
        return real_ask_many(questions, histories)

    monkeypatch.setattr(bot, "ask_many", slow)
    batcher = Batcher(bot)

    async def scenario():
        first = asyncio.ensure_future(batcher.ask("what is dropout?"))
        await asyncio.sleep(0)
        await asyncio.to_thread(started.wait, 5)
        second = asyncio.ensure_future(batcher.ask("what is a kernel?"))
        await asyncio.sleep(0)
        batcher._task.cancel()  # what the event loop does to pending tasks at shutdown
        release.set()
        return await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), timeout=10)

    results = asyncio.run(scenario())
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results


def test_batch_size_is_validated(bot):
    with pytest.raises(ValueError, match="at least 1, got 0"):
        Batcher(bot, max_size=0)
    with pytest.raises(ValueError, match="max_waiting must be at least max_size"):
        Batcher(bot, max_size=32, max_waiting=8)


def test_too_many_waiting_callers_are_told_to_come_back_not_queued(bot):
    from qa.errors import BusyError

    batcher = Batcher(bot, max_size=4, max_waiting=8)

    async def crowd():
        return await asyncio.gather(*(batcher.ask("what is dropout?") for _ in range(20)), return_exceptions=True)

    results = asyncio.run(crowd())
    busy = [r for r in results if isinstance(r, BusyError)]
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert len(busy) == 12 and len(answered) == 8  # the first 8 wait and are answered
    assert all(a.citations[0].term == "Dropout" for a in answered)
    assert "try again" in str(busy[0])


def test_a_batch_that_cannot_start_is_answered_with_an_error_not_left_hanging(bot, monkeypatch):
    async def no_thread(*args, **kwargs):
        raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    batcher = Batcher(bot)
    answer = asyncio.run(asyncio.wait_for(batcher.ask("what is dropout?"), timeout=10))
    assert answer.answered is False and answer.error == "internal error"


def test_each_batch_is_handed_to_on_answers_once_and_a_failing_hook_costs_no_answer(bot):
    seen: list[list[str]] = []

    def record(answers):
        seen.append([a.question for a in answers])
        raise OSError("disk full")  # the app's feedback log failing

    batcher = Batcher(bot, max_size=4, on_answers=record)
    questions = [f"what is dropout? ({i})" for i in range(6)] + ["a good pasta recipe?"]

    async def everyone():
        answers = await asyncio.gather(*(batcher.ask(q) for q in questions))
        await batcher.join()  # the hook runs after the callers have their answers
        return answers

    answers = asyncio.run(everyone())
    assert [a.question for a in answers] == questions and all(a.error is None for a in answers)
    assert sorted(q for batch in seen for q in batch) == sorted(questions)
    assert len(seen) == batcher.batches == 2


def test_the_next_batch_is_encoded_while_one_is_ranked(bot, monkeypatch):
    import threading

    order: list[tuple[str, int]] = []
    second_encoding = threading.Event()
    real_prefetch, real_ask_many = bot.prefetch, bot.ask_many

    def prefetch(questions):
        order.append(("encode", len(questions)))
        if len(questions) > 1:
            second_encoding.set()
        real_prefetch(questions)

    def ask_many(questions, histories=None):
        if len(questions) == 1:  # the first batch: still being ranked when the next one arrives
            second_encoding.wait(10)
        answers = real_ask_many(questions, histories)
        order.append(("ranked", len(questions)))
        return answers

    monkeypatch.setattr(bot, "prefetch", prefetch)
    monkeypatch.setattr(bot, "ask_many", ask_many)
    batcher = Batcher(bot)

    async def scenario():
        first = asyncio.ensure_future(batcher.ask("what is dropout?"))
        for _ in range(1000):  # until the first batch is on its way (10 s at most)
            if ("encode", 1) in order:
                break
            await asyncio.sleep(0.01)
        rest = [batcher.ask(q) for q in ["what is a kernel?"] * Batcher.AHEAD]
        return await asyncio.wait_for(asyncio.gather(first, *rest), timeout=30)

    answers = asyncio.run(scenario())
    assert order.index(("encode", Batcher.AHEAD)) < order.index(("ranked", 1))  # overlapped, not one after the other
    assert answers[0].citations[0].term == "Dropout" and all(a.citations[0].term == "Kernel" for a in answers[1:])
    assert batcher.batches == 2


def test_a_failed_encoding_ahead_costs_no_answer(bot, monkeypatch):
    def broken(questions):
        raise RuntimeError("model failed")

    monkeypatch.setattr(bot, "prefetch", broken)
    batcher = Batcher(bot)

    async def everyone():
        return await asyncio.gather(*(batcher.ask(q) for q in QUESTIONS[:4]))

    answers = asyncio.run(everyone())
    assert [a.question for a in answers] == [bot.ask(q).question for q in QUESTIONS[:4]]
    assert answers[0].citations[0].term == "Overfitting" and all(a.error is None for a in answers)
