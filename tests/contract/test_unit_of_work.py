"""The unit of work and its repositories behave the same on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import (
    AccountStatus,
    ChannelName,
    CheckinStatus,
    Choice,
    ConversationMode,
    DeliveryStatus,
    Direction,
    DuplicateDelivery,
    NewConversation,
    NewEvent,
    NewMessage,
    NewOutboxItem,
    OutboxKind,
    OutboxStatus,
    PlannedTouch,
    SentReceipt,
    TouchStart,
)
from storage.credentials import CredentialCipher
from storage.database import create_engine, create_sessionmaker
from storage.unit_of_work import SqlUnitOfWork
from tests.integration.conftest import TEST_SECRET_KEY

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def uow_factory(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Units of work on an empty migrated database of the test's own."""
    url: str = request.getfixturevalue(
        "sqlite_database" if request.param == "sqlite" else "clean_postgres_database"
    )
    engine = create_engine(url)
    cipher = CredentialCipher([TEST_SECRET_KEY])
    yield lambda: SqlUnitOfWork(create_sessionmaker(engine), cipher=cipher)
    await engine.dispose()


async def _conversation(uow: SqlUnitOfWork, address: str = "c-1"):  # type: ignore[no-untyped-def]
    business = await uow.businesses.add(
        f"b-{uuid.uuid4().hex[:8]}", name="B", sandbox_enabled=True, created_at=NOW
    )
    customer = await uow.customers.add(
        business.id,
        name="דנה",
        phone=None,
        language="he",
        timezone="Asia/Jerusalem",
        attributes={"tier": "gold", "tags": ["vip", "חדש"]},
        created_at=NOW,
    )
    identity = await uow.identities.add(
        business.id, customer.id, channel=ChannelName.SANDBOX, address=address, created_at=NOW
    )
    conversation = await uow.conversations.add(
        business.id, customer_id=customer.id, identity_id=identity.id, started_at=NOW
    )
    return business, customer, identity, conversation


async def test_what_is_committed_reads_back_equal_with_utc_times(uow_factory) -> None:  # type: ignore[no-untyped-def]
    text = "שָׁלוֹם 😡\u200f mixed ‎(EN)‎ ךםן"
    async with uow_factory() as uow:
        business, customer, identity, conversation = await _conversation(uow)
        message = await uow.messages.add(
            business.id,
            conversation=conversation,
            direction=Direction.OUT,
            channel=ChannelName.SANDBOX,
            text=text,
            status=DeliveryStatus.QUEUED,
            created_at=NOW,
            choices=[Choice("yes", "כן"), Choice("no", "לא")],
        )
        await uow.commit()

    async with uow_factory() as uow:
        again = await uow.messages.get(message.id)
        stored = await uow.customers.get(business.id, customer.id)
        assert await uow.identities.find(business.id, ChannelName.SANDBOX, "c-1") == identity
        assert await uow.conversations.open_for(identity.id) == conversation
    assert again == message
    assert again.text == text
    assert again.created_at == NOW and again.created_at.tzinfo is not None
    assert again.choices == (Choice("yes", "כן"), Choice("no", "לא"))
    assert stored == customer
    assert stored is not None and stored.attributes == {"tier": "gold", "tags": ["vip", "חדש"]}


async def test_nothing_is_kept_without_a_commit(uow_factory) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, *_ = await _conversation(uow)

    async with uow_factory() as uow:
        assert await uow.businesses.get_by_slug(business.slug) is None


async def test_a_customer_of_one_business_is_invisible_to_another(uow_factory) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        first, customer, *_ = await _conversation(uow)
        second, *_ = await _conversation(uow, address="c-2")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.customers.get(second.id, customer.id) is None
        assert [c.id for c in await uow.customers.list(first.id, limit=10, offset=0)] == [
            customer.id
        ]


async def test_a_revoked_key_finds_no_business_and_only_its_own_business_revokes_it(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    async with uow_factory() as uow:
        business, *_ = await _conversation(uow)
        other, *_ = await _conversation(uow, address="c-2")
        kept = await uow.businesses.add_api_key(business.id, key_hash="a" * 64, created_at=NOW)
        gone = await uow.businesses.add_api_key(business.id, key_hash="b" * 64, created_at=NOW)
        await uow.commit()
    later = NOW + timedelta(hours=1)
    async with uow_factory() as uow:
        assert await uow.businesses.revoke_api_key(other.id, gone.id, at=later) is None
        revoked = await uow.businesses.revoke_api_key(business.id, gone.id, at=later)
        again = await uow.businesses.revoke_api_key(business.id, gone.id, at=NOW + timedelta(2))
        await uow.commit()
    async with uow_factory() as uow:
        listed = await uow.businesses.api_keys(business.id)
        assert await uow.businesses.api_keys(other.id) == []
        assert (await uow.businesses.find_by_api_key("a" * 64)).id == business.id  # type: ignore[union-attr]
        assert await uow.businesses.find_by_api_key("b" * 64) is None
    assert revoked is not None and revoked.revoked_at == later
    assert again is not None and again.revoked_at == later  # revoked once, at the first time
    assert [(k.id, k.revoked_at) for k in listed] == [(kept.id, None), (gone.id, later)]
    assert kept.fingerprint == "a" * 12


async def test_customers_are_found_by_id_reference_phone_or_a_part_of_the_name(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    async with uow_factory() as uow:
        business, dana, *_ = await _conversation(uow)
        other, *_ = await _conversation(uow, address="c-2")
        avi = await uow.customers.add(
            business.id,
            name="Avi 100%_off",
            phone="+972547654321",
            language="en",
            timezone="Asia/Jerusalem",
            attributes={},
            created_at=NOW + timedelta(minutes=1),
            external_id="crm-7",
        )
        await uow.commit()

    async def found(text: str, phone: str | None = None) -> list[uuid.UUID]:
        async with uow_factory() as uow:
            hits = await uow.customers.search(business.id, text=text, phone=phone, limit=10)
        return [c.id for c in hits]

    assert await found("דנ") == [dana.id]
    assert await found("avi") == [avi.id]
    assert await found("%_") == [avi.id]  # LIKE's wildcards are plain characters here
    assert await found("%") == [avi.id]
    assert await found("crm-7") == [avi.id]
    assert await found("054-765-4321", "+972547654321") == [avi.id]
    assert await found(str(dana.id)) == [dana.id]
    assert await found("nobody") == []
    async with uow_factory() as uow:
        assert await uow.customers.search(other.id, text="crm-7", phone=None, limit=10) == []


async def test_a_business_s_messages_come_page_by_page_in_id_order(uow_factory) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, _, _, conversation = await _conversation(uow)
        other, _, _, theirs = await _conversation(uow, address="c-2")
        ids = []
        for n, (whose, where) in enumerate(
            [(business, conversation), (other, theirs), (business, conversation)] * 2
        ):
            message = await uow.messages.add(
                whose.id,
                conversation=where,
                direction=Direction.IN,
                channel=ChannelName.SANDBOX,
                text=f"שלום {n}",
                status=DeliveryStatus.RECEIVED,
                created_at=NOW,
            )
            if whose is business:
                ids.append(message.id)
        await uow.commit()
    async with uow_factory() as uow:
        first = await uow.messages.page(business.id, after_id=0, limit=3)
        rest = await uow.messages.page(business.id, after_id=first[-1].id, limit=3)
    assert [m.id for m in first] == ids[:3] and [m.id for m in rest] == ids[3:]
    assert [m.text for m in first + rest] == ["שלום 0", "שלום 2", "שלום 3", "שלום 5"]


async def test_a_delivery_id_is_stored_once(uow_factory) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, *_ = await _conversation(uow)
        await uow.deliveries.add(
            business.id,
            channel=ChannelName.SANDBOX,
            delivery_id="d-1",
            message_id=None,
            received_at=NOW,
        )
        await uow.commit()

    with pytest.raises(DuplicateDelivery):
        async with uow_factory() as uow:
            await uow.deliveries.add(
                business.id,
                channel=ChannelName.SANDBOX,
                delivery_id="d-1",
                message_id=None,
                received_at=NOW,
            )
            await uow.commit()
    async with uow_factory() as uow:
        assert await uow.deliveries.find(business.id, ChannelName.SANDBOX, "d-1") == 0
        assert await uow.deliveries.find(business.id, ChannelName.TELEGRAM, "d-1") is None


async def _reply(uow, business_id, conversation, text="hi", **more):  # type: ignore[no-untyped-def]
    """A queued reply in the conversation and its outbox row."""
    message = await uow.messages.add(
        business_id,
        conversation=conversation,
        direction=Direction.OUT,
        channel=ChannelName.SANDBOX,
        text=text,
        status=DeliveryStatus.QUEUED,
        created_at=NOW,
        **more,
    )
    return await uow.outbox.add(
        business_id,
        message_id=message.id,
        kind=OutboxKind.REPLY,
        idempotency_key=f"k-{message.id}-{uuid.uuid4().hex}",
        due_at=NOW,
    )


async def _outbox_item(uow_factory):  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, _, _, conversation = await _conversation(uow)
        item = await _reply(uow, business.id, conversation)
        await uow.commit()
    return item


async def test_an_outbox_item_is_claimed_by_exactly_one_of_many_senders(uow_factory) -> None:  # type: ignore[no-untyped-def]
    item = await _outbox_item(uow_factory)

    async def claim() -> bool:
        async with uow_factory() as uow:
            won = await uow.outbox.claim(item.id, now=NOW)
            await uow.commit()
            return won

    results = await asyncio.gather(*(claim() for _ in range(10)))
    assert results.count(True) == 1
    async with uow_factory() as uow:
        claimed = await uow.outbox.get(item.id)
    assert claimed.status is OutboxStatus.SENDING and claimed.attempts == 1


async def test_an_item_is_not_due_before_its_retry_time_and_stale_claims_come_back(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    item = await _outbox_item(uow_factory)
    async with uow_factory() as uow:
        assert await uow.outbox.claim(item.id, now=NOW)
        await uow.outbox.retry(item.id, error="503", next_attempt_at=NOW + timedelta(minutes=1))
        await uow.commit()
    async with uow_factory() as uow:
        assert item.id not in await uow.outbox.due(now=NOW, limit=100)
        assert item.id in await uow.outbox.due(now=NOW + timedelta(minutes=1), limit=100)
        assert await uow.outbox.claim(item.id, now=NOW + timedelta(minutes=1))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.release_stale(stale_before=NOW) == 0
        assert await uow.outbox.release_stale(stale_before=NOW + timedelta(minutes=10)) >= 1
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.outbox.get(item.id)).status is OutboxStatus.PENDING


async def test_a_finished_item_cannot_be_claimed_again(uow_factory) -> None:  # type: ignore[no-untyped-def]
    item = await _outbox_item(uow_factory)
    async with uow_factory() as uow:
        assert await uow.outbox.claim(item.id, now=NOW)
        await uow.outbox.finish(item.id, OutboxStatus.SENT)
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.outbox.claim(item.id, now=NOW + timedelta(hours=1))
        assert item.id not in await uow.outbox.due(now=NOW + timedelta(hours=1), limit=100)


async def test_an_item_waits_only_on_earlier_unsent_items_of_its_own_conversation(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, _, _, conversation = await _conversation(uow)
        *_, other = await _conversation(uow, address="c-2")
        items = [
            await _reply(uow, business.id, talk) for talk in (conversation, conversation, other)
        ]
        await uow.commit()
    first, second, elsewhere = items

    async with uow_factory() as uow:
        assert (await uow.outbox.sending(second.id, now=NOW)).behind
        assert not (await uow.outbox.sending(first.id, now=NOW)).behind
        assert not (await uow.outbox.sending(elsewhere.id, now=NOW)).behind
        await uow.outbox.retry(first.id, error="503", next_attempt_at=NOW + timedelta(minutes=1))
        await uow.commit()
    async with uow_factory() as uow:
        assert not (await uow.outbox.sending(second.id, now=NOW)).behind
        assert (await uow.outbox.sending(second.id, now=NOW + timedelta(minutes=1))).behind
        await uow.outbox.finish(first.id, OutboxStatus.SENT)
        await uow.commit()
    async with uow_factory() as uow:
        assert not (await uow.outbox.sending(second.id, now=NOW + timedelta(minutes=1))).behind


async def test_what_sending_an_item_takes_is_read_in_one_go_as_the_separate_reads_have_it(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, customer, identity, conversation = await _conversation(uow)
        account = await uow.accounts.save(
            business.id,
            ChannelName.SANDBOX,
            status=AccountStatus.CONNECTED,
            credentials={"token": "t"},
            settings={"templates": {}},
            last_error=None,
            at=NOW,
        )
        items = [
            await _reply(uow, business.id, conversation, text, choices=[Choice("yes", "כן")])
            for text in ("first", "second")
        ]
        await uow.commit()
    first, second = items

    async with uow_factory() as uow:
        assert (await uow.outbox.sending(second.id, now=NOW)).behind
        assert not (await uow.outbox.sending(second.id, now=NOW - timedelta(minutes=1))).behind
        assert await uow.outbox.claim(first.id, now=NOW)
        send = await uow.outbox.sending(first.id, now=NOW)
        assert send.item == await uow.outbox.get(first.id)
        assert send.item.attempts == 1
        assert send.message == await uow.messages.get(first.message_id)
        assert send.identity == await uow.identities.get(identity.id)
        assert send.business == await uow.businesses.get(business.id)
        assert send.customer == customer
        assert send.account == account
        assert not send.behind
        assert (await uow.outbox.sending(second.id, now=NOW - timedelta(minutes=1))).behind
        await uow.outbox.finish(first.id, OutboxStatus.SENT)
        assert not (await uow.outbox.sending(second.id, now=NOW)).behind


async def test_an_item_whose_business_has_no_account_on_the_channel_is_read_without_one(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    item = await _outbox_item(uow_factory)

    async with uow_factory() as uow:
        send = await uow.outbox.sending(item.id, now=NOW)
    assert send.account is None and send.customer is not None and not send.behind


async def test_a_batch_claim_takes_each_due_pending_item_once_even_when_two_claim_at_once(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, *_ = await _conversation(uow)
        talks = [(await _conversation(uow, address=f"c-{n}"))[3] for n in range(6)]
        items = [await _reply(uow, business.id, talk) for talk in talks]
        await uow.commit()
    *claimable, later, done = items
    async with uow_factory() as uow:
        assert await uow.outbox.claim(later.id, now=NOW)
        await uow.outbox.retry(later.id, error="503", next_attempt_at=NOW + timedelta(minutes=1))
        assert await uow.outbox.claim(done.id, now=NOW)
        await uow.outbox.finish(done.id, OutboxStatus.SENT)
        await uow.commit()
    ids = [item.id for item in reversed(items)]

    async def claim() -> list[int]:
        async with uow_factory() as uow:
            won = await uow.outbox.claim_many(ids, now=NOW)
            await uow.commit()
            return list(won)

    first, second = await asyncio.gather(claim(), claim())
    assert sorted(first + second) == [item.id for item in claimable]
    assert not set(first) & set(second)
    assert first == sorted(first) and second == sorted(second)
    async with uow_factory() as uow:
        for item in claimable:
            claimed = await uow.outbox.get(item.id)
            assert claimed.status is OutboxStatus.SENDING and claimed.attempts == 1
        assert (await uow.outbox.get(later.id)).status is OutboxStatus.PENDING
        assert (await uow.outbox.get(done.id)).status is OutboxStatus.SENT
        assert await uow.outbox.claim_many(ids, now=NOW + timedelta(minutes=1)) == [later.id]
        assert await uow.outbox.claim_many([], now=NOW) == []


async def test_an_unclaimed_item_is_pending_again_with_its_attempt_not_counted(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    item = await _outbox_item(uow_factory)
    async with uow_factory() as uow:
        assert await uow.outbox.claim_many([item.id], now=NOW) == [item.id]
        await uow.outbox.unclaim([item.id])
        await uow.commit()
    async with uow_factory() as uow:
        pending = await uow.outbox.get(item.id)
        assert pending.status is OutboxStatus.PENDING and pending.attempts == 0
        assert item.id in await uow.outbox.due(now=NOW, limit=100)
        assert await uow.outbox.claim(item.id, now=NOW)
        await uow.outbox.finish(item.id, OutboxStatus.SENT)
        await uow.outbox.unclaim([item.id])
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.outbox.get(item.id)).status is OutboxStatus.SENT


async def test_the_batch_read_has_for_each_item_what_reading_it_alone_has(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, _, _, conversation = await _conversation(uow)
        *_, other = await _conversation(uow, address="c-2")
        await uow.accounts.save(
            business.id,
            ChannelName.SANDBOX,
            status=AccountStatus.CONNECTED,
            credentials={"token": "t"},
            settings={"templates": {}},
            last_error=None,
            at=NOW,
        )
        stranger, *_ = await _conversation(uow, address="c-3")
        *_, unknown = await _conversation(uow, address="c-4")
        items = [
            await _reply(uow, business.id, conversation, "first", choices=[Choice("y", "כן")]),
            await _reply(uow, business.id, conversation, "second"),
            await _reply(uow, business.id, other, "elsewhere"),
            await _reply(uow, stranger.id, unknown, "no account"),
        ]
        await uow.commit()
    ids = [item.id for item in items]

    async with uow_factory() as uow:
        claimed = await uow.outbox.claim_many(ids, now=NOW)
        together = await uow.outbox.sending_many([*reversed(claimed), 10**9], now=NOW)
        alone = [await uow.outbox.sending(item_id, now=NOW) for item_id in ids]
    assert claimed == ids
    assert list(together) == alone
    assert [send.behind for send in together] == [False, True, False, False]
    assert together[0].account is not None and together[3].account is None
    assert together[0].message.choices == (Choice("y", "כן"),)
    assert all(send.item.status is OutboxStatus.SENDING for send in together)


async def test_in_a_claimed_batch_a_later_item_of_a_conversation_is_behind_the_earlier_one(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, _, _, conversation = await _conversation(uow)
        first, second, third = [await _reply(uow, business.id, conversation) for _ in range(3)]
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.outbox.claim_many([second.id, third.id], now=NOW) == [
            second.id,
            third.id,
        ]
        sends = await uow.outbox.sending_many([second.id, third.id], now=NOW)
        assert [send.behind for send in sends] == [True, True]
        await uow.outbox.finish(first.id, OutboxStatus.SENT)
        sends = await uow.outbox.sending_many([second.id, third.id], now=NOW)
        assert [send.behind for send in sends] == [False, True]
        await uow.outbox.unclaim([third.id])
        assert (await uow.outbox.sending_many([third.id], now=NOW))[0].behind
        await uow.outbox.finish(second.id, OutboxStatus.SENT)
        assert not (await uow.outbox.sending_many([third.id], now=NOW))[0].behind


async def test_the_successes_of_a_batch_are_recorded_together_and_touch_no_other_row(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, *_ = await _conversation(uow)
        talks = [(await _conversation(uow, address=f"c-{n}"))[3] for n in range(3)]
        first, second, untouched = [await _reply(uow, business.id, talk) for talk in talks]
        assert await uow.outbox.claim_many([first.id, second.id, untouched.id], now=NOW)
        await uow.commit()
    later = NOW + timedelta(seconds=3)

    async with uow_factory() as uow:
        await uow.outbox.finish_many([first.id, second.id], OutboxStatus.SENT)
        await uow.messages.set_sent(
            {
                first.message_id: SentReceipt("m-1", DeliveryStatus.SENT),
                second.message_id: SentReceipt("m-2", DeliveryStatus.DELIVERED),
            },
            at=later,
        )
        await uow.outbox.finish_many([], OutboxStatus.SENT)
        await uow.messages.set_sent({}, at=later)
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.outbox.get(first.id)).status is OutboxStatus.SENT
        assert (await uow.outbox.get(second.id)).status is OutboxStatus.SENT
        assert (await uow.outbox.get(untouched.id)).status is OutboxStatus.SENDING
        one, two, other = [
            await uow.messages.get(item.message_id) for item in (first, second, untouched)
        ]
    assert (one.status, one.channel_message_id) == (DeliveryStatus.SENT, "m-1")
    assert (two.status, two.channel_message_id) == (DeliveryStatus.DELIVERED, "m-2")
    assert other.status is DeliveryStatus.QUEUED and other.channel_message_id is None
    assert one.text == "hi" and one.direction is Direction.OUT


async def test_a_business_is_found_by_slug_with_its_account_on_one_channel(uow_factory) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, *_ = await _conversation(uow)
        account = await uow.accounts.save(
            business.id,
            ChannelName.TELEGRAM,
            status=AccountStatus.CONNECTED,
            credentials={"token": "t", "webhook_secret": "s"},
            settings={},
            last_error=None,
            at=NOW,
        )
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.accounts.by_slug(business.slug, ChannelName.TELEGRAM) == (
            business,
            account,
        )
        assert await uow.accounts.by_slug(business.slug, ChannelName.WHATSAPP) == (business, None)
        assert await uow.accounts.by_slug("no-such-business", ChannelName.TELEGRAM) is None


async def test_an_identity_is_found_with_its_customer_and_may_be_made_with_its_window_open(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, customer, identity, _ = await _conversation(uow)
        wrote = await uow.identities.add(
            business.id,
            customer.id,
            channel=ChannelName.WHATSAPP,
            address="whatsapp:+972501234567",
            created_at=NOW,
            last_inbound_at=NOW,
        )
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.identities.find_with_customer(business.id, ChannelName.SANDBOX, "c-1")
        window = await uow.identities.get(wrote.id)
        nobody = await uow.identities.find_with_customer(business.id, ChannelName.SANDBOX, "c-9")
    assert found == (identity, customer)
    assert window.last_inbound_at == NOW and wrote.last_inbound_at == NOW
    assert nobody is None


async def test_a_message_is_stored_with_its_score_and_the_history_before_it_read_whole(
    uow_factory,
) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, _, _, conversation = await _conversation(uow)
        said = []
        for minutes, text in ((0, "שלום"), (1, "עדיין מחכה"), (2, "!!!")):
            said.append(
                await uow.messages.add(
                    business.id,
                    conversation=conversation,
                    direction=Direction.IN,
                    channel=ChannelName.SANDBOX,
                    text=text,
                    status=DeliveryStatus.RECEIVED,
                    created_at=NOW + timedelta(minutes=minutes),
                    frustration=0.5 if minutes else None,
                    frustration_reasons=("waiting",) if minutes else (),
                )
            )
        await uow.commit()

    async with uow_factory() as uow:
        scored = await uow.messages.get(said[1].id)
        calm = await uow.messages.get(said[0].id)
        everything = await uow.messages.from_customer(
            conversation.id, since=NOW, before_id=None, limit=2
        )
        before_last = await uow.messages.from_customer(
            conversation.id, since=NOW, before_id=said[2].id, limit=10
        )
    assert scored.frustration == 0.5 and scored.frustration_reasons == ("waiting",)
    assert calm.frustration is None and calm.frustration_reasons == ()
    assert [m.id for m in everything] == [said[1].id, said[2].id]
    assert [m.id for m in before_last] == [said[0].id, said[1].id]


async def test_conversations_opened_together_read_back_as_opened_one_by_one(uow_factory) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, dana, first, _ = await _conversation(uow)
        second = await uow.identities.add(
            business.id, dana.id, channel=ChannelName.TELEGRAM, address="t-1", created_at=NOW
        )
        await uow.conversations.close((await uow.conversations.open_for(first.id)).id, at=NOW)  # type: ignore[union-attr]
        nothing = await uow.conversations.add_many(business.id, [], started_at=NOW)
        opened = await uow.conversations.add_many(
            business.id,
            [
                NewConversation(customer_id=dana.id, identity_id=second.id),
                NewConversation(customer_id=dana.id, identity_id=first.id),
            ],
            started_at=NOW,
        )
        await uow.commit()
    async with uow_factory() as uow:
        on_first = await uow.conversations.open_for(first.id)
        on_second = await uow.conversations.open_for(second.id)
    assert nothing == []
    assert [c.identity_id for c in opened] == [second.id, first.id]
    assert on_second == opened[0] and on_first == opened[1]
    assert all(
        c.customer_id == dana.id and c.open and c.mode is ConversationMode.BOT for c in opened
    )
    assert opened[0].started_at == NOW


async def test_events_appended_together_read_back_for_each_customer(uow_factory) -> None:  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        business, dana, *_ = await _conversation(uow)
        avi = await uow.customers.add(
            business.id,
            name="Avi",
            phone=None,
            language="en",
            timezone="Asia/Jerusalem",
            attributes={},
            created_at=NOW,
        )
        await uow.events.add_many(business.id, [], occurred_at=NOW)
        await uow.events.add_many(
            business.id,
            [
                NewEvent(customer_id=dana.id, kind="checkin_sent", data={"flow": "nps"}),
                NewEvent(customer_id=avi.id, kind="checkin_sent", data={"flow": "csat"}),
                NewEvent(customer_id=dana.id, kind="feedback_received", data={"text": "תודה"}),
            ],
            occurred_at=NOW,
        )
        await uow.commit()
    async with uow_factory() as uow:
        hers = await uow.events.for_customer(dana.id, limit=10)
        his = await uow.events.for_customer(avi.id, limit=10)
    assert [(e.kind, e.data, e.occurred_at) for e in hers] == [
        ("checkin_sent", {"flow": "nps"}, NOW),
        ("feedback_received", {"text": "תודה"}, NOW),
    ]
    assert [(e.kind, e.data) for e in his] == [("checkin_sent", {"flow": "csat"})]


async def test_messages_stored_together_come_back_with_their_ids_in_the_order_given(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    async with uow_factory() as uow:
        business, dana, _, conversation = await _conversation(uow)
        _, avi, _, theirs = await _conversation(uow, address="c-2")
        nothing = await uow.messages.add_many(
            business.id, [], direction=Direction.OUT, status=DeliveryStatus.QUEUED, created_at=NOW
        )
        # More than one page of a multi-row insert, alternating conversations.
        ids = await uow.messages.add_many(
            business.id,
            [
                NewMessage(
                    conversation_id=(conversation, theirs)[n % 2].id,
                    customer_id=(dana, avi)[n % 2].id,
                    channel=ChannelName.SANDBOX,
                    text=f"שאלה {n}",
                    choices=(Choice("yes", "כן"), Choice("no", "לא")) if n == 1 else (),
                )
                for n in range(1500)
            ],
            direction=Direction.OUT,
            status=DeliveryStatus.QUEUED,
            created_at=NOW,
        )
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.messages.page(business.id, after_id=0, limit=2000)
        second = await uow.messages.get(ids[1])
    assert nothing == []
    assert len(ids) == len(set(ids)) == 1500
    by_id = {m.id: m for m in stored}
    assert [by_id[i].text for i in ids] == [f"שאלה {n}" for n in range(1500)]
    assert second.conversation_id == theirs.id and second.customer_id == avi.id
    assert second.choices == (Choice("yes", "כן"), Choice("no", "לא"))
    assert (second.direction, second.status, second.channel) == (
        Direction.OUT,
        DeliveryStatus.QUEUED,
        ChannelName.SANDBOX,
    )
    assert second.created_at == NOW and second.reply_to_id is None


async def test_outbox_items_queued_together_are_pending_and_due_with_their_ids_in_order(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    async with uow_factory() as uow:
        business, dana, _, conversation = await _conversation(uow)
        messages = await uow.messages.add_many(
            business.id,
            [
                NewMessage(
                    conversation_id=conversation.id,
                    customer_id=dana.id,
                    channel=ChannelName.SANDBOX,
                    text=f"m{n}",
                )
                for n in range(3)
            ],
            direction=Direction.OUT,
            status=DeliveryStatus.QUEUED,
            created_at=NOW,
        )
        nothing = await uow.outbox.add_many(business.id, [], due_at=NOW)
        kinds = (OutboxKind.CHECKIN, OutboxKind.REPLY, OutboxKind.CHECKIN)
        ids = await uow.outbox.add_many(
            business.id,
            [
                NewOutboxItem(message_id=m, kind=kind, idempotency_key=f"checkin:7:{n}")
                for n, (m, kind) in enumerate(zip(reversed(messages), kinds, strict=True))
            ],
            due_at=NOW,
        )
        await uow.commit()
    async with uow_factory() as uow:
        items = [await uow.outbox.get(i) for i in ids]
        due = await uow.outbox.due(now=NOW, limit=10)
        keyed = await uow.outbox.by_key("checkin:7:1")
    assert nothing == []
    assert [i.message_id for i in items] == list(reversed(messages))
    assert [i.kind for i in items] == list(kinds)
    assert [i.idempotency_key for i in items] == ["checkin:7:0", "checkin:7:1", "checkin:7:2"]
    assert all(
        i.status is OutboxStatus.PENDING and i.attempts == 0 and not i.template_only for i in items
    )
    assert items[0].next_attempt_at == NOW
    assert sorted(due) == sorted(ids)
    assert keyed == items[1]


async def test_only_touches_still_claimed_are_started_and_then_given_their_runs(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    async with uow_factory() as uow:
        business, dana, identity, conversation = await _conversation(uow)
        await uow.checkins.plan(
            business.id,
            [
                PlannedTouch(customer_id=dana.id, key=f"k{n}", flow="nps", due_at=NOW, send_at=NOW)
                for n in range(3)
            ],
            now=NOW,
        )
        claimed = await uow.checkins.claim_due(now=NOW, limit=2)
        await uow.commit()
    later = NOW + timedelta(minutes=1)
    async with uow_factory() as uow:
        planned = next(
            c
            for c in await uow.checkins.list(business.id, status=None, limit=10, offset=0)
            if c.status is CheckinStatus.PLANNED
        )
        nothing = await uow.checkins.start_many([], now=later)
        taken = await uow.checkins.start_many([claimed[1].id, planned.id, claimed[0].id], now=later)
        again = await uow.checkins.start_many([claimed[0].id], now=later)
        starts = [
            TouchStart(
                checkin_id=c.id,
                customer_id=dana.id,
                identity_id=identity.id,
                channel=ChannelName.SANDBOX,
                conversation_id=None,
                run={"step": n},
                wake_at=later + timedelta(days=n),
                replies=(),
                kind=OutboxKind.CHECKIN,
                key=f"checkin:{c.id}",
                event={},
            )
            for n, c in enumerate(claimed)
        ]
        await uow.checkins.record_starts(
            starts, conversations={c.id: conversation.id for c in claimed}
        )
        await uow.commit()
    async with uow_factory() as uow:
        made = [await uow.checkins.get(c.id) for c in claimed]
        still = await uow.checkins.get(planned.id)
    assert nothing == []
    assert taken == sorted(c.id for c in claimed)
    assert again == []
    assert [(c.status, c.sent_at) for c in made] == [(CheckinStatus.SENT, later)] * 2
    assert [(c.channel, c.conversation_id, c.run, c.wake_at) for c in made] == [
        (ChannelName.SANDBOX, conversation.id, {"step": n}, later + timedelta(days=n))
        for n in range(2)
    ]
    assert still.status is CheckinStatus.PLANNED and still.sent_at is None


async def test_sign_in_attempts_lock_at_the_limit_and_start_again_after_the_lock_or_a_quiet_spell(
    uow_factory,  # type: ignore[no-untyped-def]
) -> None:
    lockout = timedelta(minutes=15)

    async def take(login: str, at: datetime) -> tuple[bool, int, datetime | None]:
        async with uow_factory() as uow:
            taken = await uow.agents.take_attempt(login, now=at, limit=3, lockout=lockout)
            await uow.commit()
        return taken.allowed, taken.number, taken.locked_until

    first = [await take("a", NOW + timedelta(seconds=n)) for n in range(4)]
    after_lock = await take("a", NOW + timedelta(seconds=2) + lockout)
    quiet = [await take("b", NOW), await take("b", NOW + lockout), await take("b", NOW + lockout)]
    async with uow_factory() as uow:
        await uow.agents.clear_attempts("b")
        await uow.commit()
    cleared = await take("b", NOW + lockout)
    async with uow_factory() as uow:
        forgotten = await uow.agents.forget_attempts(before=NOW + 2 * lockout, limit=10)
        await uow.commit()

    locked_until = NOW + timedelta(seconds=2) + lockout
    assert first == [
        (True, 1, None),
        (True, 2, None),
        (True, 3, locked_until),
        (False, 3, locked_until),
    ]
    assert after_lock == (True, 1, None)
    assert quiet == [(True, 1, None), (True, 1, None), (True, 2, None)]
    assert cleared == (True, 1, None)
    assert forgotten == 2
