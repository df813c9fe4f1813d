"""The tone model shipped in the package: it loads offline, fast, and reads clear cases right."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from bot.detection.shipped import default_detector, shipped_model
from flows.frustration import Sensitivity

FRUSTRATED = [
    "השירות שלכם מזעזע, אני מחכה כבר שבוע ואף אחד לא עונה",
    "בושה וחרפה, חברה של נוכלים",
    "This is the worst service I have ever had, absolutely ridiculous",
    "I'm so angry, you people are useless",
]
CALM = [
    "תודה רבה, השירות היה מעולה",
    "שבוע טוב ותודה על העזרה",
    "Thank you so much, that was really helpful!",
    "Great, I love it, thanks!",
]


def test_the_shipped_model_loads_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the detector must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    shipped_model.cache_clear()

    started = time.perf_counter()
    model = shipped_model()
    elapsed = time.perf_counter() - started

    assert model.features.buckets == len(model.weights)
    assert model.info["trained_by"] == "python -m training.detector"
    assert elapsed < 1.0


@pytest.mark.parametrize("text", FRUSTRATED)
def test_clearly_frustrated_messages_score_above_one_half(text: str) -> None:
    verdict = default_detector().assess(text)

    assert verdict.tone is not None and verdict.tone > 0.5
    assert verdict.score > 0.5


@pytest.mark.parametrize("text", CALM)
def test_clearly_calm_messages_score_below_one_half(text: str) -> None:
    verdict = default_detector().assess(text)

    assert verdict.tone is not None and verdict.tone < 0.5
    assert verdict.score < 0.5
    assert not verdict.handoff


def test_the_default_detector_takes_the_sensitivity_by_name() -> None:
    assert default_detector("conservative").sensitivity is Sensitivity.CONSERVATIVE
    assert default_detector().model is default_detector().model
