"""One writer per table: rows of a table are inserted, updated and deleted by its repository only.

Read from the source with `ast`: a row class (`storage.tables`) named in `insert(...)`,
`update(...)` or `delete(...)`, a row constructed (to be added to the session), an attribute
set on a row loaded by `session.get`, `get_one` or `select(...)`, and SQL text that writes a
table, each counts as a write in the module it is in.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORAGE = ROOT / "storage"
# Each table's one writer, by row class.
WRITER = {
    "BusinessRow": "storage/repositories/businesses.py",
    "ApiKeyRow": "storage/repositories/businesses.py",
    "CustomerRow": "storage/repositories/customers.py",
    "IdentityRow": "storage/repositories/identities.py",
    "ChannelAccountRow": "storage/repositories/channel_accounts.py",
    "ConversationRow": "storage/repositories/conversations.py",
    "MessageRow": "storage/repositories/messages.py",
    "EventRow": "storage/repositories/events.py",
    "InboundDeliveryRow": "storage/repositories/deliveries.py",
    "OutboxRow": "storage/repositories/outbox.py",
    "ScheduleRow": "storage/repositories/schedules.py",
    "CustomFlowRow": "storage/repositories/flows.py",
    "CheckinRow": "storage/repositories/checkins.py",
    "AnswerRow": "storage/repositories/answers.py",
    "AgentRow": "storage/repositories/agents.py",
    "AgentSessionRow": "storage/repositories/agents.py",
    "SignInAttemptRow": "storage/repositories/agents.py",
    "HandoffRow": "storage/repositories/handoffs.py",
    "AuditRow": "storage/repositories/audit.py",
    "KnowledgeEntryRow": "storage/repositories/knowledge.py",
    "KnowledgeQuestionRow": "storage/repositories/questions.py",
}
WRITES = {"insert", "update", "delete"}
LOADS = {"get", "get_one"}
SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)")


def _tables() -> dict[str, str]:
    """Each row class of `storage/tables.py` by its table's name."""
    tree = ast.parse((STORAGE / "tables.py").read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for statement in node.body:
            if (
                isinstance(statement, ast.Assign)
                and any(
                    isinstance(t, ast.Name) and t.id == "__tablename__" for t in statement.targets
                )
                and isinstance(statement.value, ast.Constant)
            ):
                found[str(statement.value.value)] = node.name
    return found


def _rows_named(node: ast.AST, rows: set[str], aliases: dict[str, set[str]]) -> set[str]:
    named: set[str] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            if inner.id in rows:
                named.add(inner.id)
            named |= aliases.get(inner.id, set())
    return named


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _loaded_row(value: ast.AST, rows: set[str]) -> str | None:
    """The row class an expression loads whole (`session.get(XRow, …)`, `select(XRow)`)."""
    for inner in ast.walk(value):
        if isinstance(inner, ast.Call) and inner.args:
            first = inner.args[0]
            if (
                _called(inner) in LOADS | {"select"}
                and isinstance(first, ast.Name)
                and first.id in rows
            ):
                return first.id
    return None


def writes(source: str, rows: set[str], tables: dict[str, str]) -> list[tuple[int, str]]:
    """(line, row class) of every write in a module's source."""
    tree = ast.parse(source)
    # Module-level names bound to a table, as in `_EVENTS = cast(Table, EventRow.__table__)`.
    aliases: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            named = _rows_named(node.value, rows, aliases)
            for target in node.targets:
                if isinstance(target, ast.Name) and named:
                    aliases[target.id] = named
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = _called(node)
            if called in WRITES and node.args:
                found += [(node.lineno, r) for r in _rows_named(node.args[0], rows, aliases)]
            elif called in rows:
                found.append((node.lineno, called))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in SQL_WRITE.finditer(node.value):
                if match.group(1) in tables:
                    found.append((node.lineno, tables[match.group(1)]))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += _loaded_and_changed(node, rows)
    return found


def _loaded_and_changed(function: ast.AST, rows: set[str]) -> list[tuple[int, str]]:
    loaded: dict[str, str] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            row = _loaded_row(node.value, rows)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and row is not None:
                    loaded[target.id] = row
    changed = []
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in loaded
        ):
            changed.append((node.lineno, loaded[node.value.id]))
        elif (
            isinstance(node, ast.Call)
            and _called(node) in {"setattr", "delete", "merge"}
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in loaded
        ):
            changed.append((node.lineno, loaded[node.args[0].id]))
    return changed


def _violations() -> list[str]:
    tables = _tables()
    rows = set(tables.values())
    broken = []
    for path in sorted(STORAGE.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module.startswith("storage/migrations/") or module == "storage/tables.py":
            continue
        for line, row in writes(path.read_text(encoding="utf-8"), rows, tables):
            if WRITER[row] != module:
                broken.append(f"{module}:{line} writes {row}, which only {WRITER[row]} writes")
    return broken


def test_every_table_has_one_writer_named() -> None:
    assert sorted(_tables().values()) == sorted(WRITER)


def test_each_table_is_written_by_its_own_repository_only() -> None:
    assert _violations() == []


def test_the_rule_sees_every_kind_of_write() -> None:
    tables = _tables()
    rows = set(tables.values())
    source = """
from sqlalchemy import Table, cast, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from storage.tables import AnswerRow, CheckinRow, ConversationRow, EventRow, MessageRow, OutboxRow

_EVENTS = cast(Table, EventRow.__table__)

async def f(session, dialect):
    await session.execute(insert(ConversationRow), [])
    await session.scalars(insert(MessageRow).returning(MessageRow.id))
    await session.execute(insert(_EVENTS), [])
    await session.execute(dialect.insert(CheckinRow).values([]))
    await session.execute(update(OutboxRow).where(OutboxRow.id == 1).values(status="sent"))
    await session.execute(delete(CheckinRow).where(CheckinRow.id == 1))
    session.add(MessageRow(text="hi"))
    row = await session.get(OutboxRow, 1)
    row.status = "sent"
    loaded = await session.get_one(ConversationRow, 1)
    setattr(loaded, "mode", "human")
    gone = await session.scalar(select(AnswerRow).limit(1))
    await session.delete(gone)
    await session.execute(text("UPDATE checkins SET status = 'sent'"))
    await session.execute(text("INSERT INTO events (kind) VALUES ('x')"))
    await session.execute(text("DELETE FROM messages WHERE id = 1"))
"""
    assert sorted(r for _, r in writes(source, rows, tables)) == sorted(
        [
            "ConversationRow",
            "MessageRow",
            "EventRow",
            "CheckinRow",
            "OutboxRow",
            "CheckinRow",
            "MessageRow",
            "OutboxRow",
            "ConversationRow",
            "AnswerRow",
            "CheckinRow",
            "EventRow",
            "MessageRow",
        ]
    )


def test_reads_are_no_writes() -> None:
    tables = _tables()
    rows = set(tables.values())
    source = """
from sqlalchemy import func, select
from storage.tables import CheckinRow, MessageRow

async def f(session, values):
    values.update(status="x")
    rows = await session.scalars(select(MessageRow).where(MessageRow.id > 1))
    await session.execute(select(CheckinRow.id).with_for_update(skip_locked=True))
    await session.execute(text("ANALYZE checkins"))
    await session.execute(text("SELECT 1 FROM checkins FOR UPDATE"))
    await session.execute(text("INSERT INTO checkins (id) VALUES (1) ON CONFLICT DO UPDATE SET id = 1"))
"""
    assert [r for _, r in writes(source, rows, tables)] == ["CheckinRow"]
