"""The layers: flows <- bot <- integrations, storage <- app. Flows are pure; only `app` wires."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"app", "bot", "flows", "integrations", "storage"}
ALLOWED = {
    "flows": {"flows"},
    "bot": {"bot", "flows"},
    "integrations": {"bot.domain", "bot.ports", "integrations"},
    "storage": {"bot.domain", "bot.ports", "storage"},
    "app": OURS,
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


def _allowed(package: str, name: str) -> bool:
    if name.split(".")[0] not in OURS:
        return True
    return any(name == a or name.startswith(a + ".") for a in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_the_design_allows(package: str) -> None:
    broken = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _files(package)
        for name in _imports(path)
        if not _allowed(package, name)
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


def test_the_rule_catches_an_adapter_or_the_wiring_imported_by_the_core() -> None:
    assert not _allowed("bot", "storage.repositories")
    assert not _allowed("bot", "app.bootstrap")
    assert not _allowed("storage", "integrations.telegram")
    assert not _allowed("flows", "bot.domain")
    assert _allowed("app", "storage.repositories")
