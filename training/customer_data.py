"""The project's own customer-service messages for training (`training/data/`, see its README).

Written for Kesher without sight of the evaluation lists; learnt from, never reported on.
"""

from __future__ import annotations

import csv
from pathlib import Path

from training.detector import Example

LABELS = {"frustrated": True, "calm": False}
FILES = {"customer_messages_en.tsv": "en", "customer_messages_he.tsv": "he"}
SOURCE = "own-customer-messages"


def read(folder: Path) -> list[Example]:
    """The rows of each file in `FILES` found in `folder` (none when it is absent)."""
    examples = []
    for name, language in FILES.items():
        path = folder / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as lines:
            for number, row in enumerate(csv.DictReader(lines, delimiter="\t"), start=2):
                label = (row.get("label") or "").strip()
                if label not in LABELS or not row.get("text"):
                    raise ValueError(f"{path}:{number}: not a text<TAB>frustrated|calm row")
                examples.append(Example(row["text"], LABELS[label], language, SOURCE))
    return examples
