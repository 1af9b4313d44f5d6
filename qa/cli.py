"""`qa`: the shell's door to the same front door (`qa.bot`). Commands mirror the library; domain
errors become a one-line message and exit code 2, never a traceback."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .errors import QAError
from .settings import Settings


def _settings(args: argparse.Namespace, **extra) -> Settings:
    return Settings.from_env(corpus_dir=args.corpus, index_dir=args.index, model=args.model, **extra)


def _notice(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    from .bot import build
    from .ingest import load_corpus

    settings = _settings(args)
    started = time.perf_counter()
    corpus = load_corpus(settings.corpus_dir)
    if corpus.unread_note:
        _notice(corpus.unread_note)
    vectors = build(settings, corpus=corpus, progress=not args.quiet)
    m = vectors.manifest
    print(
        f"Indexed {m.entry_count} entries from {len(m.corpus_files)} file(s) as {m.chunk_count} chunks "
        f"({m.index_type}, {m.dimension}-d, model {m.model}) in {time.perf_counter() - started:.1f} s -> {settings.index_dir}"
    )
    return 0


def _render_text(answer) -> str:
    lines = [answer.answer, ""]
    if answer.citations:
        lines.append("Sources:" if answer.answered else "Nearest terms:")
        for number, c in enumerate(answer.citations, start=1):
            lines.append(f"[{number}] {c.term} ({c.glossary}, {c.source}, score {c.score:.2f})")
    return "\n".join(lines).rstrip()


def _read_lines(stream) -> "iter[tuple[str | None, str | None]]":
    """Yield (question, problem) per input line; bytes that are not UTF-8 give a problem, not a crash."""
    for raw in stream:
        raw = raw.rstrip(b"\r\n")
        try:
            yield raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            yield raw.decode("utf-8", errors="replace"), f"line is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at {exc.start})"


def cmd_ask(args: argparse.Namespace) -> int:
    from .bot import Bot
    from .types import Answer

    bot = Bot.load(_settings(args), on_notice=_notice)
    if args.question == "-":
        history: list[str] = []
        for question, problem in _read_lines(sys.stdin.buffer):
            if problem:
                answer = Answer(question=question, answered=False, answer=f"Unusable input: {problem}.", error=problem)
            else:
                answer = bot.ask(question, history if args.conversation else None)
                if args.conversation and answer.error is None:
                    history.append(question)
            if args.json:
                print(answer.model_dump_json(), flush=True)
            else:
                print(_render_text(answer) + "\n", flush=True)
        return 0
    answer = bot.ask(args.question)
    print(answer.model_dump_json(indent=2) if args.json else _render_text(answer))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .bot import Bot
    from .evaluate import meets_bar, read_items, render, run_baselines, run_bot

    bot = Bot.load(_settings(args), on_notice=_notice)
    items = read_items(Path(args.file))
    report = run_bot(bot, items)
    reports = [report] + ([] if args.no_baselines else run_baselines(bot, items))
    print(render(reports))
    failures = meets_bar(report.figures)
    print("bar: met" if not failures else "bar: NOT met: " + "; ".join(failures))
    if args.verbose:
        print("\nMisses:")
        for o in report.misses():
            context = f" (after {o.item.history})" if o.item.history else ""
            verdict = "refused" if not o.answered else f"cited {o.ranked[:3]}"
            print(f"- [{o.item.kind}] {o.item.question!r}{context}: want {o.item.terms or 'refusal'}, {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps({r.name: r.figures for r in reports}, indent=2) + "\n")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from .feedback import FeedbackLog

    settings = Settings.from_env(feedback_log=args.log)
    rows = FeedbackLog(settings.feedback_log).review()
    if not rows:
        print(f"No unanswered or down-voted questions in {settings.feedback_log}.")
        return 0
    print(f"{'count':>5}  {'kind':<10}  question")
    for row in rows:
        print(f"{row.count:>5}  {row.kind:<10}  {row.question}")
    print("\nA question worth answering: add it as an `Asked:` line below the heading of the entry that answers it (or to its `asked` column), "
          "then `qa build` and restart the app (a running app keeps the glossary it started with).")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Ask a glossary; answers quote and cite its definitions.")
    p.add_argument("--corpus", type=Path, help="corpus folder (default: ./corpus, or QA_CORPUS_DIR)")
    p.add_argument("--index", type=Path, help="index folder (default: ./index, or QA_INDEX_DIR)")
    p.add_argument("--model", help="embedding model: a sentence-transformers name or path (default: the built-in all-MiniLM-L6-v2, or QA_MODEL)")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="(re)build the index from the corpus folder")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)

    a = sub.add_parser("ask", help="answer a question ('-' reads one question a line from stdin)")
    a.add_argument("question", help="the question, or - for stdin")
    a.add_argument("--json", action="store_true", help="one JSON object per answer (a line each with -)")
    a.add_argument("--conversation", action="store_true", help="with -: treat the lines as one conversation (follow-ups)")
    a.set_defaults(func=cmd_ask)

    e = sub.add_parser("eval", help="score the bot on a labelled JSONL question set, beside two baselines")
    e.add_argument("file")
    e.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    e.add_argument("--no-baselines", action="store_true")
    e.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    e.set_defaults(func=cmd_eval)

    r = sub.add_parser("review", help="unanswered and down-voted questions from the feedback log, most frequent first")
    r.add_argument("--log", type=Path, help="feedback log (default: ./feedback/feedback.jsonl, or QA_FEEDBACK_LOG)")
    r.set_defaults(func=cmd_review)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
