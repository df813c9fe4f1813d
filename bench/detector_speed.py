"""Offline frustration detector speed: model load time, messages/s on one core, memory added.

.venv/bin/python -m bench.detector_speed --dataset ../shared/datasets/goemotions-en/dev.tsv

Messages per second are given by the wall clock and by this process's CPU time; on a shared,
busy machine the second is the one that says what one core can do.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dataset", type=Path, required=True, help="a TSV whose first column is text"
    )
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    texts = [
        line.split("\t")[0]
        for line in options.dataset.read_text(encoding="utf-8").splitlines()
        if line
    ]

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    from bot.detection.shipped import default_detector

    detector = default_detector()
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    cpu_started = time.process_time()
    for _ in range(options.rounds):
        for text in texts:
            detector.assess(text)
    elapsed = time.perf_counter() - started
    cpu_elapsed = time.process_time() - cpu_started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "messages": len(texts) * options.rounds,
                "load_seconds": round(load_seconds, 3),
                "messages_per_second": round(len(texts) * options.rounds / elapsed),
                "messages_per_cpu_second": round(len(texts) * options.rounds / cpu_elapsed),
                "memory_added_mb": round((after - before) / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
