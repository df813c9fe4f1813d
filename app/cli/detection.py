"""`kesher detect`: the shipped frustration detector run offline over JSON lines."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.cli.process import errors
from bot.detection.batch import LANGUAGES, detect_lines
from bot.detection.shipped import default_detector


def detect(
    lang: Annotated[
        str, typer.Option("--lang", help="auto (by script, per message), he or en")
    ] = "auto",
    sensitivity: Annotated[
        str, typer.Option(help="sensitive, balanced or conservative")
    ] = "balanced",
) -> None:
    """Score JSON lines {"id", "text"} from stdin for frustration, offline; JSON lines out."""
    if lang not in LANGUAGES:
        errors.print(f"[red]--lang must be one of {', '.join(LANGUAGES)}[/red]")
        raise typer.Exit(2)
    try:
        detector = default_detector(sensitivity)
    except ValueError:
        errors.print("[red]--sensitivity must be sensitive, balanced or conservative[/red]")
        raise typer.Exit(2) from None
    for line in detect_lines(sys.stdin, detector=detector, language=lang):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
