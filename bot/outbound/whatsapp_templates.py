"""WhatsApp Content templates per business, and whether a message goes as free text or a template.

WhatsApp lets a business write freely only within 24 hours of the customer's last message;
outside that window only a template Meta approved may be sent (Twilio error 63016 otherwise).
A business maps Kesher's proactive message kinds, per language, to its approved Content SIDs
and names what fills each numbered variable. The decision here is pure: times come in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain import ChannelAccount, FilledTemplate, InvalidInput, OutboxKind

KINDS: tuple[str, ...] = (
    OutboxKind.CHECKIN,
    OutboxKind.NPS,
    OutboxKind.CSAT,
    OutboxKind.FOLLOW_UP,
    OutboxKind.HANDOFF_NOTICE,
)
# Not a message to a customer: alerts to the business's own agents on their WhatsApp number.
STAFF_ALERT = "staff_alert"
TEMPLATE_KINDS: tuple[str, ...] = (*KINDS, STAFF_ALERT)
LANGUAGES = ("he", "en")
# What a template variable may be filled with, from the message being sent.
VARIABLES = ("customer_name", "business", "text")
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")


@dataclass(frozen=True, slots=True)
class Template:
    """An approved Content template: its SID and what fills {{1}}, {{2}}, ... in order."""

    sid: str
    variables: tuple[str, ...] = ()

    def filled(self, values: Mapping[str, str]) -> FilledTemplate:
        return FilledTemplate(
            sid=self.sid,
            variables={
                str(n): values.get(name, "") for n, name in enumerate(self.variables, start=1)
            },
        )


# kind → language → template
Templates = Mapping[str, Mapping[str, Template]]


def parse_templates(raw: object) -> dict[str, dict[str, Template]]:
    """Templates from a YAML/JSON mapping; InvalidInput naming the field that is wrong.

    Each kind maps languages to either a Content SID or `{sid: HX..., variables: [...]}`.
    """
    if not isinstance(raw, Mapping):
        raise InvalidInput(
            "templates must be a mapping of message kind to languages", code="invalid_templates"
        )
    parsed: dict[str, dict[str, Template]] = {}
    for kind, languages in raw.items():
        if kind not in TEMPLATE_KINDS:
            raise InvalidInput(
                f"templates.{kind}: unknown message kind (use one of {', '.join(TEMPLATE_KINDS)})",
                code="invalid_templates",
            )
        if not isinstance(languages, Mapping):
            raise InvalidInput(
                f"templates.{kind}: must map languages (he, en) to templates",
                code="invalid_templates",
            )
        parsed[kind] = {
            language: _template(f"templates.{kind}.{language}", language, given)
            for language, given in languages.items()
        }
    return parsed


def _template(where: str, language: object, given: object) -> Template:
    if language not in LANGUAGES:
        raise InvalidInput(
            f"{where}: unknown language (use one of {', '.join(LANGUAGES)})",
            code="invalid_templates",
        )
    if isinstance(given, str):
        given = {"sid": given}
    if not isinstance(given, Mapping):
        raise InvalidInput(
            f"{where}: give a Content SID or {{sid, variables}}", code="invalid_templates"
        )
    unknown = set(given) - {"sid", "variables"}
    if unknown:
        raise InvalidInput(
            f"{where}.{sorted(unknown)[0]}: unknown field (use sid, variables)",
            code="invalid_templates",
        )
    sid = given.get("sid")
    if not isinstance(sid, str) or not _CONTENT_SID.fullmatch(sid.strip()):
        raise InvalidInput(
            f"{where}.sid: a Content SID looks like HX followed by 32 hex digits, not {sid!r}",
            code="invalid_templates",
        )
    variables = given.get("variables") or []
    if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
        raise InvalidInput(f"{where}.variables: must be a list of names", code="invalid_templates")
    for name in variables:
        if name not in VARIABLES:
            raise InvalidInput(
                f"{where}.variables: unknown variable {name!r} (use {', '.join(VARIABLES)})",
                code="invalid_templates",
            )
    return Template(sid=sid.strip(), variables=tuple(variables))


def stored_templates(account: ChannelAccount | None) -> Templates:
    """The templates kept in an account's settings (validated when they were set)."""
    if account is None:
        return {}
    return parse_templates(account.settings.get("templates") or {})


def staff_alert_template(templates: Templates, language: str) -> Template | None:
    """The approved template agents' alerts go out in: the agent's language, else the other."""
    kinds = templates.get(STAFF_ALERT, {})
    return kinds.get(language) or next(iter(kinds.values()), None)


def approved_kinds(templates: Templates, language: str) -> list[str]:
    """The message kinds with an approved template in `language`."""
    return [kind for kind in KINDS if language in templates.get(kind, {})]


def templates_settings(templates: Templates) -> dict[str, dict[str, dict[str, Any]]]:
    """Templates as stored in the account's settings (and shown by the API)."""
    return {
        kind: {
            language: {"sid": t.sid, "variables": list(t.variables)}
            for language, t in languages.items()
        }
        for kind, languages in templates.items()
    }


@dataclass(frozen=True, slots=True)
class FreeText:
    """Inside the window: send the message as written."""


@dataclass(frozen=True, slots=True)
class UseTemplate:
    template: Template


@dataclass(frozen=True, slots=True)
class HoldForTemplate:
    """Outside the window and no approved template for this kind and language."""

    reason: str


Delivery = FreeText | UseTemplate | HoldForTemplate


def delivery_for(
    kind: str,
    language: str,
    *,
    templates: Templates,
    last_inbound_at: datetime | None,
    now: datetime,
    window: timedelta | None,
    template_only: bool = False,
) -> Delivery:
    """How a message may go: free text within the window, else its template, else held.

    `window` is None for channels without one; `template_only` is set once the provider said
    the window had closed (its clock wins over ours).
    """
    if window is None:
        return FreeText()
    inside = last_inbound_at is not None and now - last_inbound_at < window
    if inside and not template_only:
        return FreeText()
    template = templates.get(kind, {}).get(language)
    if template is not None:
        return UseTemplate(template)
    return HoldForTemplate(
        f"outside the 24-hour window and no approved template for '{kind}' in '{language}'"
    )
