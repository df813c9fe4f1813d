"""The promise: no customer message is left without either an answer that completes it or a
place in a person's queue. A hundred varied messages walk through the sandbox, on both
backends, and each is checked: a survey answer handled, an opt-out confirmed, or an open
conversation or handoff for a person (with a reply that reached the customer).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.conversations import actions
from bot.domain import ChannelName, ConversationStatus, Inbound
from bot.inbound.pipeline import handle_inbound
from tests.integration.conftest import running
from tests.integration.world import SettableClock, World, make_world

ISRAEL = ZoneInfo("Asia/Jerusalem")
SUNDAY_TEN = datetime(2026, 12, 6, 10, 0, tzinfo=ISRAEL)

QUESTIONS = [
    "What time do you open on Friday?",
    "Do you have parking nearby?",
    "How much is a large pizza?",
    "Do you deliver to Ramat Gan?",
    "Can I change my booking to Tuesday?",
    "Is the shop accessible for wheelchairs?",
    "Where can I find my invoice?",
    "Do you have gluten free options",
    "אפשר להזמין עוגה?",
    "מה שעות הפתיחה ביום שישי?",
    "יש חניה ליד החנות?",
    "כמה עולה משלוח לחיפה?",
    "אפשר לשלם בביט?",
    "האם אתם פתוחים בחג?",
    "איך מבטלים הזמנה?",
    "יש לכם גם סניף בירושלים",
    "Are you open on Saturday evening?",
    "Can I bring my dog?",
    "Do you sell gift cards",
    "What's your address?",
    "מתי המשלוח שלי יגיע?",
    "אפשר להחליף מידה?",
    "יש הנחה לסטודנטים?",
    "עד מתי אפשר להחזיר מוצר?",
]
THANKS = [
    "thanks!",
    "Thank you so much 🙏",
    "great service, thanks",
    "תודה רבה!",
    "תודה, היה מעולה",
    "cheers",
    "תודה על העזרה",
    "ok thanks bye",
]
COMPLAINTS = [
    "The order came cold and late again, this is unacceptable",
    "I was charged twice and nobody answers the phone",
    "Your app keeps crashing when I try to pay",
    "המשלוח הגיע שבור ואף אחד לא עונה לי",
    "חויבתי פעמיים על אותה הזמנה!!!",
    "השירות היום היה ממש גרוע",
    "worst experience ever, I'm done with you",
    "כבר שבוע אני מחכה להחזר כספי",
]
PERSON = [
    "I want to talk to a real person",
    "can a human call me please",
    "אני רוצה לדבר עם נציג",
    "תעבירו אותי לנציג אנושי בבקשה",
    "representative",
    "אפשר לדבר עם מישהו מהצוות?",
]
EMOJI = ["👍", "😡😡😡", "❤️", "🙏🙏", "🤔", "😂👌"]
NIQQUD = ["שָׁלוֹם, מָתַי אַתֶּם פְּתוּחִים?", "תּוֹדָה רַבָּה!", "הַהַזְמָנָה לֹא הִגִּיעָה", "אֶפְשָׁר לְהַזְמִין?"]
MIXED = [
    "ההזמנה #4512 מ-Amazon לא הגיעה",
    "can I pay with ביט?",
    "שלום, my order number is 7781",
    "Is the קפה הפוך still 12 ₪?",
    "ה-WiFi לא עובד in the lobby",
]
STOPS = ["STOP", "stop", "unsubscribe", "הסר", "הָסֵר", "הסירו אותי", "די!", "Stop!"]
OPTED_OUT_WRITES = [
    "אני רוצה לדבר עם נציג, חויבתי פעמיים",
    "What time do you open on Friday?",
    "I want to talk to a real person",
    "אפשר להזמין עוגה?",
    "the delivery was late again",
    "תודה",
    "👍",
    "do you have parking?",
]


@dataclass(frozen=True, slots=True)
class Walked:
    """One message and what became of it."""

    kind: str
    text: str
    queued: bool
    completed: bool
    answered: bool


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def world(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    clock = SettableClock(SUNDAY_TEN)
    async for runtime in running(request, tmp_path, clock=clock):
        yield await make_world(runtime, clock)


async def _media(world: World, address: str) -> None:
    inbound = Inbound(
        channel=ChannelName.SANDBOX,
        delivery_id=uuid.uuid4().hex,
        address=address,
        received_at=world.clock.now(),
        note="[photo]",
    )
    await handle_inbound(world.business, inbound, world.services)


async def _state(world: World, address: str) -> tuple[bool, bool, int]:
    """Whether a person has it (an open conversation or handoff), whether the customer is
    opted out, and how many survey answers they gave."""
    customer_id = await world.customer_id(address)
    async with world.services.uow() as uow:
        identity = await uow.identities.find(world.business.id, ChannelName.SANDBOX, address)
        assert identity is not None
        conversation = await uow.conversations.open_for(identity.id)
        customer = await uow.customers.get(world.business.id, customer_id)
        answers = await uow.answers.for_customer(customer_id, limit=50)
        handoff = await uow.handoffs.open_for(conversation.id) if conversation else None
    queued = conversation is not None and (
        conversation.status is ConversationStatus.OPEN or handoff is not None
    )
    return queued, bool(customer and customer.opted_out), len(answers)


async def _walk(world: World, kind: str, address: str, text: str | None) -> Walked:
    told = len(world.phone.to(address))
    answers_before = 0
    if kind == "survey":
        answers_before = (await _state(world, address))[2]
    world.clock.at += timedelta(seconds=30)
    if text is None:
        await _media(world, address)
    else:
        await world.say(address, text)
    queued, opted_out, answers = await _state(world, address)
    replies = [t for t, _ in world.phone.to(address)[told:]]
    completed = (
        kind == "stop" and opted_out and any("unsubscribed" in r or "הוסרתם" in r for r in replies)
    ) or (kind == "survey" and answers > answers_before and not queued)
    return Walked(kind, text or "[photo]", queued, completed, bool(replies))


async def _resolve_all(world: World, addresses: list[str]) -> None:
    for address in addresses:
        identity_customer = await world.customer_id(address)
        async with world.services.uow() as uow:
            identity = await uow.identities.find(world.business.id, ChannelName.SANDBOX, address)
            assert identity is not None and identity.customer_id == identity_customer
            conversation = await uow.conversations.open_for(identity.id)
            assert conversation is not None
            await actions.set_status(
                uow, world.business, conversation.id, "resolved", now=world.clock.now()
            )
            await uow.commit()


async def test_a_hundred_varied_messages_each_get_a_complete_answer_or_a_person(
    world: World,
) -> None:
    walked: list[Walked] = []
    plain = [
        *(("question", t) for t in QUESTIONS),
        *(("thanks", t) for t in THANKS),
        *(("complaint", t) for t in COMPLAINTS),
        *(("person", t) for t in PERSON),
        *(("emoji", t) for t in EMOJI),
        *(("niqqud", t) for t in NIQQUD),
        *(("mixed", t) for t in MIXED),
    ]
    for n, (kind, text) in enumerate(plain):
        walked.append(await _walk(world, kind, f"c{n}", text))
    # A customer who writes again adds to their conversation, still in the queue.
    for n in range(4):
        walked.append(await _walk(world, "again", f"c{n}", "one more thing"))
    for n in range(5):
        walked.append(await _walk(world, "media", f"m{n}", None))
    for n, word in enumerate(STOPS):
        walked.append(await _walk(world, "stop", f"s{n}", word))
    for n, text in enumerate(OPTED_OUT_WRITES):
        await world.say(f"o{n}", "הסר")
        world.clock.at += timedelta(minutes=1)
        walked.append(await _walk(world, "opted_out", f"o{n}", text))
    # Survey answers: customers whose conversations were resolved get an NPS and answer it.
    surveyed = [f"n{n}" for n in range(8)]
    for address in surveyed:
        await world.say(address, "hi")
    await _resolve_all(world, surveyed)
    await world.apply({"schedules": [{"name": "nps", "flow": "nps", "when": {"every": "30d"}}]})
    await world.walk(SUNDAY_TEN + timedelta(days=31), step=timedelta(hours=6))
    for address in surveyed:
        walked.append(await _walk(world, "survey", address, "9"))
        walked.append(await _walk(world, "survey", address, "great staff and fast service"))

    assert len(walked) >= 100, len(walked)
    left = [w for w in walked if not (w.queued or w.completed)]
    assert left == [], left
    unanswered = [w for w in walked if w.queued and not w.answered and w.kind != "again"]
    assert unanswered == [], "a message put in the queue is told what happens next"
    # What the bot completes never takes a person's time.
    assert not any(w.queued for w in walked if w.kind in ("stop", "survey"))
    assert all(w.queued for w in walked if w.kind == "opted_out")
