"""Sentence vectors of training text, computed once and kept outside the repository.

Encoding is slow (about 25 English or 8 Hebrew messages a second on one core), so every text's
vector is stored in a SQLite file under `~/.cache/kesher-training/` (or `$KESHER_TRAINING_CACHE`),
keyed by the SHA-256 of the text, and reused by every later run. The vectors are the shipped
encoder's (`integrations.encoder.E5Encoder`: the same truncation and prefix the product uses),
so a head trained on them scores what the product will encode.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from integrations.encoder import E5Encoder

DIMENSIONS = 384
QUERY = True  # e5's "query:" prefix: the one its authors give for features of one text


def cache_path() -> Path:
    root = os.environ.get("KESHER_TRAINING_CACHE") or Path.home() / ".cache" / "kesher-training"
    return Path(root) / "e5-vectors.sqlite"


def key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class VectorCache:
    """Vectors by text hash in one SQLite file; safe for two encoding processes at once."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("create table if not exists vectors (key text primary key, vector blob)")

    def get(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors already stored for these texts, by key."""
        keys = list({key(t) for t in texts})
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for k, blob in self._db.execute(
                f"select key, vector from vectors where key in ({marks})", chunk
            ):
                found[k] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, texts: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        rows = [
            (key(t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._db:
            self._db.executemany("insert or replace into vectors values (?, ?)", rows)


def embed(
    texts: Sequence[str],
    *,
    cache: VectorCache | None = None,
    batch: int = 16,
    log: Callable[[str], None] = print,
) -> np.ndarray:
    """One row per text (float32, unit length), encoding only what the cache lacks."""
    cache = cache or VectorCache()
    known = cache.get(texts)
    missing = sorted({t for t in texts if key(t) not in known})
    if missing:
        log(f"encoding {len(missing)} texts not in {cache.path}")
        encoder = E5Encoder()
        started = time.perf_counter()
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            vectors = asyncio.run(encoder.embed(chunk, query=QUERY))
            cache.put(chunk, vectors)
            for text, vector in zip(chunk, vectors, strict=True):
                known[key(text)] = np.asarray(vector, dtype=np.float32)
            done = start + len(chunk)
            if done % (batch * 50) < batch or done == len(missing):
                rate = done / (time.perf_counter() - started)
                log(f"  {done}/{len(missing)} encoded, {rate:.1f}/s")
    matrix = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for i, text in enumerate(texts):
        matrix[i] = known[key(text)]
    return matrix
