"""Opt-out and opt-in words, matched on the whole message only."""

from __future__ import annotations

import pytest

from flows.consent import OPTED_IN, OPTED_OUT, ConsentCommand, consent_command


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop!",
        " stop. ",
        "הסר",
        "הָסֵר",
        "הסירו אותי",
        "הסירו  אותי!!",
        "Unsubscribe",
        "UNSUBSCRIBE",
        "די",
        "דִּי!",
        " די ",
    ],
)
def test_stop_words_opt_the_customer_out(text: str) -> None:
    assert consent_command(text) is ConsentCommand.OPT_OUT


@pytest.mark.parametrize("text", ["START", "start", "התחל", "Unstop"])
def test_start_words_opt_the_customer_back_in(text: str) -> None:
    assert consent_command(text) is ConsentCommand.OPT_IN


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "please stop sending me this",
        "don't stop",
        "stopwatch",
        "הסרה של הזמנה",
        "start over?",
        "די טוב",
        "די כבר עם ההודעות האלה",
    ],
)
def test_words_inside_a_longer_message_are_not_commands(text: str | None) -> None:
    assert consent_command(text) is None


def test_both_notices_exist_in_hebrew_and_english_and_name_the_business() -> None:
    for notice in (OPTED_OUT, OPTED_IN):
        assert "Café" in notice.render("he", business="Café")
        assert "Café" in notice.render("en", business="Café")
        assert notice.he != notice.en


def test_a_business_can_add_its_own_words_matched_the_same_way() -> None:
    words = {"opt_out": ["עצור"], "opt_in": ["חזרתי"]}

    assert consent_command("עָצוּר!", **words) is ConsentCommand.OPT_OUT
    assert consent_command("חזרתי", **words) is ConsentCommand.OPT_IN
    assert consent_command("עצור רגע", **words) is None
    assert consent_command("עצור") is None
