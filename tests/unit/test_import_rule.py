"""The arrows in DESIGN.md: flows are pure; adapters reach the core only through the root."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"bot", "flows", "integrations", "storage"}
# Modules of `bot` that may wire in adapters: the composition root, the web app and the CLI.
WIRING = ("bot/bootstrap.py", "bot/cli.py", "bot/web/")
ALLOWED = {
    "flows": {"flows"},
    "bot": {"bot", "flows"},
    "integrations": {"bot.domain", "bot.ports", "integrations"},
    "storage": {"bot.domain", "bot.ports", "storage"},
}
PURE_STDLIB_ONLY_IN_FLOWS = {
    "sqlalchemy",
    "redis",
    "fastapi",
    "telegram",
    "twilio",
    "taskiq",
    "httpx",
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _allowed(package: str, relative: str, name: str) -> bool:
    if name.split(".")[0] not in OURS:
        return True
    if package == "bot" and relative.startswith(WIRING):
        return True
    return any(name == a or name.startswith(a + ".") for a in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_the_design_allows(package: str) -> None:
    broken = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _files(package)
        for name in _imports(path)
        if not _allowed(package, str(path.relative_to(ROOT)), name)
    ]
    assert broken == []


def test_flows_use_no_io_library() -> None:
    broken = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _files("flows")
        for name in _imports(path)
        if name.split(".")[0] in PURE_STDLIB_ONLY_IN_FLOWS
    ]
    assert broken == []


def test_the_rule_catches_an_adapter_imported_by_the_core() -> None:
    assert not _allowed("bot", "bot/pipeline.py", "storage.repositories")
    assert not _allowed("flows", "flows/feedback.py", "bot.domain")
    assert _allowed("bot", "bot/bootstrap.py", "storage.repositories")
