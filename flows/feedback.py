"""The always-open feedback channel: whatever a customer writes goes to a person's queue, and
the reply says only what will happen: when the team answers, and how busy it is now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flows.handoff import opening_words
from flows.inbox import ahead_words
from flows.outcome import FeedbackReceived, Outcome, Said
from flows.text import Text

GREETING = Text(
    he="שלום{name}! תודה שכתבתם ל־{business}.", en="Hi{name}! Thanks for writing to {business}."
)
AGAIN = Text(he="תודה שכתבתם שוב.", en="Thanks for writing again.")
PROMISE = Text(
    he="מישהו מהצוות יענה לכם כאן בשעות הפעילות ({hours}).",
    en="A person from the team will answer you here during opening hours ({hours}).",
)
OPEN_NOW = Text(he="אנחנו פתוחים עכשיו, ו{ahead}.", en="We're open now, and {ahead}.")
CLOSED_NOW = Text(he="הצוות חוזר {when}.", en="The team is back {when}.")
ONLINE_NOW = Text(
    he="מישהו מהצוות מחובר עכשיו, ו{ahead}.", en="Someone from the team is online now, and {ahead}."
)
NOTED = Text(he="תודה, רשמנו 🙏", en="Thanks, noted 🙏")
NOT_TEXT = Text(
    he="קיבלנו, תודה. אני יודע לקרוא רק טקסט, אבל מישהו מהצוות יראה את מה ששלחתם.",
    en="Got it, thanks. I can only read text, but a person from the team will see what you sent.",
)


@dataclass(frozen=True, slots=True)
class Availability:
    """What the team's queue looks like now: its opening hours in words (in the customer's
    language), when it is next in (`opens`: now when open, None when never), how many
    conversations wait before this one, the timezone times are told in, and whether an agent
    is online now (which outweighs the opening hours)."""

    hours: str
    opens: datetime | None
    ahead: int
    timezone: str
    online: bool = False


def promise(language: str, availability: Availability, *, now: datetime) -> str:
    """What happens next, honestly: a person answers in opening hours; when open now, how
    many wait before this one; when closed, when the team is back, unless an agent is online
    now."""
    words = [PROMISE.render(language, hours=availability.hours)]
    opens = availability.opens
    if availability.online:
        ahead = ahead_words(availability.ahead, language)
        words.append(ONLINE_NOW.render(language, ahead=ahead))
    elif opens is not None and opens <= now:
        ahead = ahead_words(availability.ahead, language)
        words.append(OPEN_NOW.render(language, ahead=ahead))
    elif opens is not None:
        when = opening_words(opens, now=now, language=language, timezone=availability.timezone)
        words.append(CLOSED_NOW.render(language, when=when))
    return " ".join(words)


def receive(
    text: str | None,
    *,
    language: str,
    business: str,
    customer_name: str | None,
    first: bool,
    queued: bool = True,
    availability: Availability | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Acknowledge one message. When it puts the conversation in the queue (`queued`), say
    what happens next (with a greeting on the first message of a conversation); a message
    added to a conversation already waiting for a person gets a short thanks."""
    has_text = bool(text and text.strip())
    effects = (FeedbackReceived(text),) if text and has_text else ()
    if not queued or availability is None or now is None:
        reply = NOTED.render(language) if has_text else NOT_TEXT.render(language)
        return Outcome(replies=(Said(reply),), effects=effects)
    name = f" {customer_name}" if customer_name else ""
    opening = (
        GREETING.render(language, name=name, business=business) if first else AGAIN.render(language)
    )
    parts = [
        opening if has_text else NOT_TEXT.render(language),
        promise(language, availability, now=now),
    ]
    return Outcome(replies=(Said(" ".join(parts)),), effects=effects)


def heard(text: str | None) -> Outcome:
    """A message to a person who is talking with the customer and waits on their answer: on
    the record and back in the queue, and the bot keeps out of the conversation."""
    return Outcome(effects=(FeedbackReceived(text),) if text and text.strip() else ())
