"""Inside WhatsApp's 24-hour window a message goes as written; outside, as its template or held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import FilledTemplate, InvalidInput
from bot.outbound.whatsapp_templates import (
    FreeText,
    HoldForTemplate,
    Template,
    UseTemplate,
    delivery_for,
    parse_templates,
    templates_settings,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
CHECKIN_HE = "HX" + "a" * 32
TEMPLATES = parse_templates(
    {"checkin": {"he": {"sid": CHECKIN_HE, "variables": ["customer_name", "business"]}}}
)


def decide(last_inbound_at: datetime | None, kind: str = "checkin", **options: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "templates": TEMPLATES,
        "last_inbound_at": last_inbound_at,
        "now": NOW,
        "window": WINDOW,
        **options,
    }
    return delivery_for(kind, str(values.pop("language", "he")), **values)  # type: ignore[arg-type]


def test_a_message_a_minute_inside_the_window_goes_as_free_text() -> None:
    assert decide(NOW - WINDOW + timedelta(minutes=1)) == FreeText()


def test_at_exactly_24_hours_the_window_has_closed_and_the_template_is_used() -> None:
    assert decide(NOW - WINDOW) == UseTemplate(TEMPLATES["checkin"]["he"])


def test_a_customer_who_never_wrote_gets_the_template() -> None:
    assert decide(None) == UseTemplate(Template(CHECKIN_HE, ("customer_name", "business")))


def test_without_a_template_for_the_language_the_message_is_held_naming_kind_and_language() -> None:
    held = decide(NOW - timedelta(days=3), language="en")

    assert isinstance(held, HoldForTemplate)
    assert "'checkin'" in held.reason and "'en'" in held.reason


def test_a_reply_outside_the_window_has_no_template_kind_and_is_held() -> None:
    assert isinstance(decide(NOW - timedelta(days=2), kind="reply"), HoldForTemplate)


def test_after_twilio_said_63016_the_template_is_used_even_inside_our_window() -> None:
    assert decide(NOW - timedelta(minutes=5), template_only=True) == UseTemplate(
        TEMPLATES["checkin"]["he"]
    )


def test_a_channel_without_a_window_always_sends_free_text() -> None:
    assert decide(None, window=None) == FreeText()


def test_variables_are_filled_in_order_as_twilio_numbers_them() -> None:
    filled = TEMPLATES["checkin"]["he"].filled({"customer_name": "דנה", "business": "קפה"})

    assert filled == FilledTemplate(CHECKIN_HE, {"1": "דנה", "2": "קפה"})


def test_a_bare_sid_is_a_template_without_variables_and_round_trips_through_settings() -> None:
    parsed = parse_templates({"nps": {"en": "HX" + "0123456789abcdef" * 2}})

    assert parsed["nps"]["en"] == Template("HX" + "0123456789abcdef" * 2)
    assert parse_templates(templates_settings(parsed)) == parsed


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"birthday": {"he": CHECKIN_HE}}, "templates.birthday"),
        ({"checkin": {"fr": CHECKIN_HE}}, "templates.checkin.fr"),
        ({"checkin": {"he": "HX123"}}, "templates.checkin.he.sid"),
        ({"checkin": {"he": "MG" + "a" * 32}}, "templates.checkin.he.sid"),
        (
            {"csat": {"en": {"sid": CHECKIN_HE, "variables": ["age"]}}},
            "templates.csat.en.variables",
        ),
        ({"csat": {"en": {"sid": CHECKIN_HE, "colour": "red"}}}, "templates.csat.en.colour"),
        ({"nps": ["he"]}, "templates.nps"),
        (["checkin"], "templates"),
    ],
)
def test_bad_templates_are_refused_naming_the_field(raw: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_templates(raw)

    assert refused.value.message.startswith(field)
