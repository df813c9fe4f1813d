"""What an earlier attempt at a send already left at Twilio: its worker died between Twilio's
answer and recording it, so the row is being sent again.

Twilio takes no idempotency key, but it lists the messages sent to a number. The messages from
the business's sender to the customer created since the earlier attempt began (from its whole
second: Twilio stamps `date_created` to the second) are matched, oldest first, against the parts about to be sent: a text part by
its body, a template or buttons (whose text Kesher does not render) by being there at all. The
parts found are not sent again. The outbox sends one row of a conversation at a time, so what
went to that number in that window is this row's own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from bot.domain import DeliveryStatus, SentReceipt
from integrations.whatsapp.statuses import STATUSES

log = logging.getLogger(__name__)

# The newest messages to the number read; a reply is at most a few parts.
LOOKBACK = 20


async def sent_since(client: Client, *, to: str, sender: str | None, since: datetime) -> list[Any]:
    """Twilio's messages to `to` (from `sender`, if the account names one) created since
    `since`, oldest first; none when Twilio cannot be asked (the send then goes again)."""
    try:
        found = await client.messages.list_async(
            to=to, from_=sender, limit=LOOKBACK, page_size=LOOKBACK
        )
    except (TwilioException, TimeoutError, aiohttp.ClientError) as error:
        log.warning("could not ask Twilio what was sent to %s; sending again: %s", to, error)
        return []
    # No margin beyond the second: a message missed for Twilio's clock running behind is sent
    # again (a duplicate), where one taken for it would be a reply lost.
    after = since.replace(microsecond=0)
    recent = [
        m
        for m in found
        if m.date_created is not None
        and m.date_created >= after
        and str(m.direction or "").startswith("outbound")
    ]
    return sorted(recent, key=lambda m: m.date_created)


def already_sent(
    parts: Sequence[dict[str, str]], earlier: Sequence[Any]
) -> tuple[int, SentReceipt | None]:
    """How many of `parts`, from the first, are among `earlier` (Twilio's messages, oldest
    first), and the receipt of the last of them."""
    done, at, receipt = 0, 0, None
    for part in parts:
        body = part.get("body")
        match = next(
            (
                i
                for i in range(at, len(earlier))
                if body is None or str(earlier[i].body or "").strip() == body.strip()
            ),
            None,
        )
        if match is None:
            break
        message = earlier[match]
        done, at = done + 1, match + 1
        status = STATUSES.get(str(message.status or ""), DeliveryStatus.QUEUED)
        receipt = SentReceipt(channel_message_id=str(message.sid), status=status, found=True)
    return done, receipt
