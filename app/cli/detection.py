"""`kesher detect`: the shipped frustration detector run offline over JSON lines."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from app.cli.process import errors
from app.settings import Settings
from bot.detection.batch import LANGUAGES, detect_lines
from bot.detection.shipped import default_detector
from integrations.encoder import E5Encoder


def detect(
    lang: Annotated[
        str, typer.Option("--lang", help="auto (by script, per message), he or en")
    ] = "auto",
    sensitivity: Annotated[
        str, typer.Option(help="sensitive, balanced or conservative")
    ] = "balanced",
) -> None:
    """Score JSON lines {"id", "text"} from stdin for frustration, offline; JSON lines out.

    A message the fast detector is unsure of gets the bundled encoder's opinion, as in the
    workers (unless KESHER_ENCODER=false)."""
    if lang not in LANGUAGES:
        errors.print(f"[red]--lang must be one of {', '.join(LANGUAGES)}[/red]")
        raise typer.Exit(2)
    use_encoder = Settings().encoder
    try:
        detector = default_detector(sensitivity, encoder=use_encoder)
    except ValueError:
        errors.print("[red]--sensitivity must be sensitive, balanced or conservative[/red]")
        raise typer.Exit(2) from None
    with asyncio.Runner() as runner:
        encoder = E5Encoder() if use_encoder else None

        def embed(text: str) -> Sequence[float]:
            assert encoder is not None
            (vector,) = runner.run(encoder.embed([text], query=True))
            return vector

        lines = detect_lines(
            sys.stdin, detector=detector, language=lang, embed=embed if encoder else None
        )
        for line in lines:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
