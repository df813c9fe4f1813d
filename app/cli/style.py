"""`--help` written the conventional way: a switch shows no type, a value its metavar in capitals
(`--business SLUG`, `--port INTEGER`), and an argument is named plainly in the usage line
(`kesher schedules apply FILE`), not `<bool>`, `<str>` or `{file}`.

Typer (pinned in constraints.txt) prints its own `<type>` labels; `conventional()` replaces the
three methods that make them, once, before the first help is printed.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption


def _option_type(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    if self.metavar:
        return self.metavar
    described = self.type_descriptor
    if described.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in described.choices or ()) + "]"
    name = str(getattr(self.type_descriptor.annotation, "__name__", "value"))
    return {"str": "TEXT", "int": "INTEGER", "float": "NUMBER"}.get(name, name.upper())


def _argument_type(self: TyperArgument, ctx: Any) -> str | None:
    return None  # the argument's own name (FILE) already says it


def _argument_usage(self: TyperArgument) -> str:
    name = self.display_name_raw.upper()
    if not self.required:
        name = f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def conventional() -> None:
    TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign,assignment]
    TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
