"""Answer quality on the labelled dev set, with the real model: a floor the bot must not drop
below, the issue's bar (not yet met: strict xfail, so meeting it turns this red until the marker
goes), and the two baselines measured in the same run."""
from __future__ import annotations

import pytest

from qa.evaluate import meets_bar, read_items, run_baselines, run_bot

from conftest import ROOT

pytestmark = pytest.mark.slow

# The figures this code reached on eval/dev.jsonl when this floor was set, less a small tolerance.
FLOOR = {"hit@1": 0.935, "recall@3": 0.97, "mrr": 0.96, "oos_refused": 0.93, "multi_turn_hit@1": 0.925}
CEILING = {"in_scope_refused": 0.03}


@pytest.fixture(scope="module")
def dev_items():
    return read_items(ROOT / "eval" / "dev.jsonl")


@pytest.fixture(scope="module")
def dev_report(bot, dev_items):
    return run_bot(bot, dev_items)


def test_dev_set_is_the_promised_kind(dev_items):
    terms = set((ROOT / "eval" / "TERMS.txt").read_text().splitlines())
    assert len(dev_items) >= 200
    assert sum(1 for i in dev_items if not i.terms) >= 30
    assert {t for i in dev_items for t in i.terms} == terms
    assert {t for i in dev_items for t in i.terms} <= terms
    assert sum(1 for i in dev_items if i.history) >= 20


def test_dev_set_figures_stay_above_the_floor(dev_report):
    figures = dev_report.figures
    for key, floor in FLOOR.items():
        assert figures[key] >= floor, (key, figures[key])
    for key, ceiling in CEILING.items():
        assert figures[key] <= ceiling, (key, figures[key])


def test_bot_beats_both_baselines(bot, dev_items, dev_report):
    for baseline in run_baselines(bot, dev_items):
        assert dev_report.figures["hit@1"] >= baseline.figures["hit@1"] + 0.10, baseline.name
        assert dev_report.figures["mrr"] >= baseline.figures["mrr"] + 0.05, baseline.name


@pytest.mark.xfail(strict=True, reason="issue 3's bar is not reached yet; see the README's Answer quality table")
def test_dev_set_meets_the_issue_bar(dev_report):
    assert meets_bar(dev_report.figures) == []
