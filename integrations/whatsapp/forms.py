"""What Twilio posts, as posted: an x-www-form-urlencoded body read as UTF-8 into its fields,
in order and with repeated names kept, exactly as the signature covers them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import parse_qsl

from bot.domain import InvalidInput

MAX_FIELDS = 500


class FormParams(Mapping[str, str]):
    """Posted form fields in order with repeated names kept; `getall` is what the validator reads,
    exactly as signed. A field read by name has its NUL characters dropped: PostgreSQL text
    cannot hold them, and a forged-looking but signed body must get an answer, not a 503."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = tuple(pairs)
        self._first: dict[str, str] = {}
        for name, value in self.pairs:
            self._first.setdefault(name, value.replace("\x00", ""))

    def __getitem__(self, name: str) -> str:
        return self._first[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def read_form(body: bytes) -> FormParams:
    """An x-www-form-urlencoded body as params, decoded as UTF-8; InvalidInput when it is not."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 form data", code="invalid_form") from None
    except ValueError:
        raise InvalidInput(
            f"the body has more than {MAX_FIELDS} fields", code="invalid_form"
        ) from None
    return FormParams(pairs)
