"""A reply's choices as WhatsApp buttons: a Content API quick reply or list, within Twilio's limits.

Inside the 24-hour window a business may send interactive content without Meta's approval,
but only as a Content template (a ContentSid), so the content is created once through Twilio's
Content API and then sent by its SID. What fits (Twilio's limits for session messages):

- up to 3 choices, each label at most 20 characters: quick-reply buttons (`twilio/quick-reply`);
- up to 10 choices, each label at most 24 characters: a list behind one button
  (`twilio/list-picker`), whose button reads "Choose"/"לבחירה" in the message's language;
- anything else (a 0-10 scale has 11 options), or a text over 1,024 characters: no content;
  the reply goes as text and the customer types the answer.

A `twilio/text` body rides along for clients that cannot show the buttons.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from bot.domain import Reply

MAX_BODY = 1024
MAX_QUICK_REPLIES = 3
MAX_QUICK_REPLY_TITLE = 20
MAX_LIST_ITEMS = 10
MAX_LIST_ITEM = 24
MAX_ID = 200
LIST_BUTTON = {"he": "לבחירה", "en": "Choose"}
_HEBREW = re.compile(r"[\u0590-\u05ff]")


def content_types(reply: Reply) -> dict[str, Any] | None:
    """The Content API `types` that show the reply's choices as buttons, or None if none fit."""
    body = reply.text.strip()
    choices = reply.choices
    if not choices or not body or len(body) > MAX_BODY:
        return None
    if any(not 1 <= len(c.id) <= MAX_ID for c in choices):
        return None
    labels = [c.label for c in choices]
    if len(choices) <= MAX_QUICK_REPLIES and all(len(x) <= MAX_QUICK_REPLY_TITLE for x in labels):
        actions = [{"type": "QUICK_REPLY", "title": c.label, "id": c.id} for c in choices]
        return {
            "twilio/quick-reply": {"body": body, "actions": actions},
            "twilio/text": {"body": body},
        }
    if len(choices) <= MAX_LIST_ITEMS and all(len(x) <= MAX_LIST_ITEM for x in labels):
        button = LIST_BUTTON[language_of(body)]
        items = [{"item": c.label, "id": c.id} for c in choices]
        return {
            "twilio/list-picker": {"body": body, "button": button, "items": items},
            "twilio/text": {"body": body},
        }
    return None


def language_of(text: str) -> str:
    """'he' for a text with Hebrew letters, else 'en': the language the buttons speak."""
    return "he" if _HEBREW.search(text) else "en"


def content_name(types: dict[str, Any]) -> str:
    """A stable name for the content: the same buttons and text make the same name."""
    digest = hashlib.sha256(json.dumps(types, sort_keys=True).encode()).hexdigest()
    return f"kesher_{digest[:40]}"
