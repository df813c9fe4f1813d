"""Telegram updates as recorded (../shared/fixtures/telegram) parse; replies render within limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import Choice, InboundKind, SendFailed
from integrations.chunks import split_text
from integrations.telegram import MAX_TEXT, keyboard, parse_update

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "telegram"
AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _updates(name: str) -> dict[str, dict]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["updates"]


CURRENT = _updates("current_spec_examples.json")
OLD = _updates("official_webhooks_page_examples.json")


@pytest.mark.parametrize("name", sorted(OLD))
def test_every_old_format_example_parses_without_crashing(name: str) -> None:
    found = parse_update(json.loads(json.dumps(OLD[name])), received_at=AT)

    assert len(found) <= 1
    for inbound in found:
        assert inbound.delivery_id == str(OLD[name]["update_id"])


def test_old_format_messages_edits_and_buttons_are_understood() -> None:
    kinds = {
        name: parse_update(update, received_at=AT)[0].kind
        for name, update in OLD.items()
        if parse_update(update, received_at=AT)
    }

    assert kinds["message_text_minimal"] is InboundKind.COMMAND
    assert kinds["edited_message"] is InboundKind.EDIT
    assert kinds["callback_query"] is InboundKind.BUTTON
    assert kinds["message_voice"] is InboundKind.MESSAGE
    assert "inline_query" not in kinds and "chosen_inline_result" not in kinds


def test_every_current_example_becomes_the_customer_action_it_shows() -> None:
    found = {name: parse_update(u, received_at=AT) for name, u in CURRENT.items()}
    (start,) = found["message_start_command"]
    (hebrew,) = found["message_text_hebrew_frustrated"]
    (edit,) = found["edited_message"]
    (button,) = found["callback_query_with_message"]
    (blocked,) = found["my_chat_member_user_blocked_bot"]
    (unblocked,) = found["my_chat_member_user_unblocked_bot"]
    (voice,) = found["message_voice_no_text"]

    assert (start.kind, start.command, start.payload) == (InboundKind.COMMAND, "start", None)
    assert start.language == "he" and start.profile_name == "Dana Levi"
    assert hebrew.kind is InboundKind.MESSAGE and hebrew.address == "123456789"
    assert hebrew.delivery_id == "900000002" and hebrew.text and "נציג" in hebrew.text
    assert (edit.kind, edit.channel_message_id) == (InboundKind.EDIT, "2")
    assert (button.kind, button.choice, button.note) == (InboundKind.BUTTON, "handoff:yes", "Yes")
    assert (button.callback_id, button.channel_message_id) == ("4382bfdwdsb323b2d9", "3")
    assert blocked.kind is InboundKind.BLOCKED and unblocked.kind is InboundKind.UNBLOCKED
    assert (voice.text, voice.note) == (None, "[voice]")


def test_a_deep_link_payload_and_a_command_addressed_to_the_bot_are_read() -> None:
    update = json.loads(json.dumps(CURRENT["message_start_command"]))
    update["message"]["text"] = "/start@kesher_bot c_AbC-12_x"

    (inbound,) = parse_update(update, received_at=AT)

    assert (inbound.command, inbound.payload) == ("start", "c_AbC-12_x")


def test_an_edit_with_nothing_to_read_a_name_that_is_not_text_and_a_game_tap_are_ignored() -> None:
    moved = json.loads(json.dumps(CURRENT["edited_message"]))
    del moved["edited_message"]["text"]
    moved["edited_message"]["location"] = {"latitude": 32.08, "longitude": 34.78}
    listed = json.loads(json.dumps(CURRENT["message_text_neutral"]))
    listed["message"]["from"]["last_name"] = [1]
    game = json.loads(json.dumps(CURRENT["callback_query_with_message"]))
    del game["callback_query"]["data"]

    assert parse_update(moved, received_at=AT) == []  # a live location moving
    assert parse_update(listed, received_at=AT) == []
    assert parse_update(game, received_at=AT) == []


def test_scales_fit_as_rows_of_buttons() -> None:
    def widths(count: int, label: str = "{}") -> list[int]:
        markup = keyboard([Choice(str(n), label.format(n)) for n in range(count)])
        assert markup is not None
        return [len(row) for row in markup.inline_keyboard]

    assert widths(11) == [6, 5]
    assert widths(5) == [5]
    assert widths(3, "Talk to a person {}") == [2, 1]
    assert keyboard([]) is None
    with pytest.raises(SendFailed):
        keyboard([Choice("x" * 65, "too long an id")])


PIECES = st.sampled_from(["a", "ש", " ", "\n", "😀", "word ", "\n\n", "x" * 50])


@given(st.lists(PIECES, min_size=1, max_size=300).map("".join).filter(str.strip))
def test_long_text_splits_into_parts_within_the_limit_losing_nothing_but_spaces(
    text: str,
) -> None:
    parts = split_text(text, limit=200)

    assert all(0 < len(p.encode("utf-16-le")) // 2 <= 200 for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_an_emoji_counts_as_two_of_the_4096() -> None:
    parts = split_text("😀" * 3000, limit=MAX_TEXT)

    assert [len(p) for p in parts] == [2048, 952]
