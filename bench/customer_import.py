"""A large customer import, as a business would run it: `kesher customers import` on a CSV of
N rows of which 1% are bad, then the same file again (which must update, not duplicate).

Runs the real command in a fresh folder on the embedded default (SQLite), or on the database
given with --database-url (an empty one: the command migrates it). Reports the time, rows per
second, created / updated and the bad rows found, and checks them against what was written.

    .venv/bin/python -m bench.customer_import --rows 100000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KESHER = str(Path(sys.executable).with_name("kesher"))
HEBREW_NAMES = ("דנה כֹּהֵן", "אבי לוי", "נועה מזרחי", "יוסף פרץ", "מיכל ביטון")


def write_csv(path: Path, rows: int) -> int:
    """N customers; every hundredth row is bad (a phone that is not one). Returns the bad count."""
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "phone", "language", "tags", "plan"])
        for n in range(rows):
            phone = f"+97254{2_000_000 + n}"
            if n % 100 == 99:
                phone, bad = "not-a-phone", bad + 1
            writer.writerow(
                [f"c-{n}", HEBREW_NAMES[n % 5], phone, "he" if n % 3 else "en", "vip", "gold"]
            )
    return bad


def run(env: dict[str, str], folder: Path, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [KESHER, *args], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"kesher {' '.join(args)} failed:\n{done.stderr}\n{done.stdout}")
    return took, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kesher-import-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESHER_")}
    env["KESHER_DATABASE_URL"] = options.database_url or f"sqlite+aiosqlite:///{folder}/kesher.db"
    run(env, folder, "db", "upgrade")
    run(env, folder, "business", "create", "--slug", "shop", "--name", "Shop", "--json")
    path = folder / "customers.csv"
    bad = write_csv(path, options.rows)
    good = options.rows - bad
    for attempt in ("first", "again"):
        took, out = run(
            env, folder, "customers", "import", str(path), "--business", "shop", "--json"
        )
        report = json.loads(out)
        created, updated, errors = report["created"], report["updated"], len(report["errors"])
        expected = (good, 0) if attempt == "first" else (0, good)
        assert (created, updated) == expected, (attempt, created, updated)
        assert errors == bad, (attempt, errors, bad)
        print(
            f"{attempt}: {options.rows:,} rows in {took:.1f} s = {options.rows / took:,.0f} rows/s;"
            f" created {created:,}, updated {updated:,}, bad rows reported {errors:,}"
        )


if __name__ == "__main__":
    main()
