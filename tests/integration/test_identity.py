"""One customer, one record: a WhatsApp number is the customer's phone, the API and imports
find it, a deep link brings a chat's history along, and two records merge into one (previewed
first) with every table keyed by customer moved; on both backends.

WhatsApp and Telegram are the fakes on loopback (tests/fakes), reached through the real
webhooks; the records are read back through the REST API and counted in every table.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from app.bootstrap import Runtime
from bot.accounts.channels import connect_whatsapp
from bot.domain import Answer, Business, ChannelName, PlannedTouch
from storage.tables import Base, CheckinRow
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio
from tests.integration.conftest import running
from tests.integration.test_inbox import _api_agent
from tests.integration.test_telegram import message
from tests.seeds import add_answers

PUBLIC = "https://kesher.example.com"
NUMBER = "+972505551234"
LOCAL = "050-555-1234"
# Every table with a customer_id column: what a customer's record is made of.
KEYED = sorted(t.name for t in Base.metadata.sorted_tables if "customer_id" in t.c)


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_twilio: FakeTwilio, fake_telegram: FakeTelegram
) -> AsyncIterator[Runtime]:
    async for built in running(
        request,
        tmp_path,
        twilio_api_url=fake_twilio.url,
        telegram_api_url=fake_telegram.url,
        public_url=PUBLIC,
    ):
        yield built


@dataclasses.dataclass
class Shop:
    business: Business
    key: str
    client: httpx.AsyncClient
    runtime: Runtime

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def url(self) -> str:
        return f"/api/v1/{self.business.slug}/customers"

    async def whatsapp(self, text: str, *, number: str = NUMBER) -> None:
        path = f"/webhooks/whatsapp/{self.business.slug}"
        sid = "SM" + uuid.uuid4().hex
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{number}",
            "To": SENDER,
            "Body": text,
            "NumMedia": "0",
            "ProfileName": "Noa",
            "WaId": number.lstrip("+"),
        }
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, params)
        response = await self.client.post(
            path,
            content=urlencode(params).encode(),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        assert response.status_code == 200, response.text

    async def telegram(self, chat: int, text: str) -> None:
        async with self.runtime.services.uow() as uow:
            account = await uow.accounts.get(self.business.id, ChannelName.TELEGRAM)
        assert account is not None
        response = await self.client.post(
            f"/webhooks/telegram/{self.business.slug}",
            json=message(chat, text),
            headers={"X-Telegram-Bot-Api-Secret-Token": account.secret("webhook_secret")},
        )
        assert response.status_code == 200, response.text

    async def at(self, channel: ChannelName, address: str) -> dict[str, Any]:
        response = await self.client.get(
            self.url, params={"channel": channel.value, "address": address}, headers=self.auth
        )
        (found,) = response.json()["customers"]
        return found  # type: ignore[no-any-return]

    async def put(self, **body: Any) -> httpx.Response:
        return await self.client.post(self.url, json=body, headers=self.auth)

    async def load(self, csv: str) -> dict[str, Any]:
        response = await self.client.post(
            f"{self.url}/import",
            content=csv.encode(),
            headers={**self.auth, "content-type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def everyone(self) -> list[dict[str, Any]]:
        response = await self.client.get(self.url, headers=self.auth)
        return response.json()["customers"]  # type: ignore[no-any-return]


@pytest.fixture
async def shop(client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]) -> Shop:
    found, key = business
    await connect_whatsapp(
        runtime.services,
        found,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        public_base=PUBLIC,
    )
    connected = await client.put(
        f"/api/v1/{found.slug}/channels/telegram",
        json={"token": TOKEN},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert connected.status_code == 200, connected.text
    return Shop(found, key, client, runtime)


async def _rows(runtime: Runtime, customer_id: str | uuid.UUID) -> dict[str, set[int | str]]:
    """The primary keys of the customer's rows, table by table."""
    found: dict[str, set[int | str]] = {}
    async with runtime.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in KEYED:
                ids = await connection.scalars(
                    select(table.c.id).where(table.c.customer_id == uuid.UUID(str(customer_id)))
                )
                found[table.name] = {str(i) if isinstance(i, uuid.UUID) else i for i in ids}
    return found


def _counts(rows: dict[str, set[int | str]]) -> dict[str, int]:
    return {name: len(ids) for name, ids in rows.items()}


async def test_a_whatsapp_customer_has_their_number_as_phone_and_the_api_and_imports_find_them(
    shop: Shop,
) -> None:
    await shop.whatsapp("היי, מה שעות הפתיחה?")
    noa = await shop.at(ChannelName.WHATSAPP, f"whatsapp:{NUMBER}")

    found = await shop.client.get(shop.url, params={"q": LOCAL}, headers=shop.auth)
    updated = await shop.put(external_id="crm-7", phone=LOCAL, name="Noa Levi")
    imported = await shop.load("external_id,phone,plan\ncrm-7,0505551234,gold\n")
    await shop.whatsapp("תודה!")

    assert noa["phone"] == NUMBER
    assert [c["id"] for c in found.json()["customers"]] == [noa["id"]]
    assert updated.status_code == 200, updated.text
    assert updated.json()["id"] == noa["id"] and updated.json()["external_id"] == "crm-7"
    assert (imported["created"], imported["updated"]) == (0, 1)
    (everyone,) = await shop.everyone()
    assert everyone["id"] == noa["id"]
    assert (everyone["name"], everyone["attributes"]) == ("Noa Levi", {"plan": "gold"})
    assert [i["address"] for i in everyone["identities"]] == [f"whatsapp:{NUMBER}"]


async def test_a_phone_a_whatsapp_identity_holds_finds_its_customer_whatever_phone_they_have_now(
    shop: Shop,
) -> None:
    await shop.whatsapp("hello")
    noa = await shop.at(ChannelName.WHATSAPP, f"whatsapp:{NUMBER}")
    # The business's CRM gives Noa another number; her WhatsApp stays where it is.
    await shop.put(external_id="crm-7", phone=LOCAL)
    moved = await shop.put(external_id="crm-7", phone="052-765-4321")

    by_api = await shop.put(phone=LOCAL, name="Noa")
    by_import = await shop.load("phone,plan\n+972 50 555 1234,gold\n")

    assert moved.json()["phone"] == "+972527654321"
    assert by_api.status_code == 200 and by_api.json()["id"] == noa["id"]
    assert (by_import["created"], by_import["updated"]) == (0, 1)
    (everyone,) = await shop.everyone()
    assert (everyone["id"], everyone["phone"]) == (noa["id"], NUMBER)


async def test_a_family_on_one_phone_keeps_a_record_each_and_whatsapp_stays_with_the_first(
    shop: Shop,
) -> None:
    await shop.whatsapp("hello")
    first = await shop.at(ChannelName.WHATSAPP, f"whatsapp:{NUMBER}")

    report = await shop.load(f"external_id,name,phone\nmom,Rina,{LOCAL}\nkid,Tom,{LOCAL}\n")
    await shop.whatsapp("it's Rina again")
    duplicates = await shop.client.get(f"{shop.url}/duplicates", headers=shop.auth)

    # The one who wrote has no id of the business yet: the first row is her; the second id
    # is another person on the same phone.
    assert (report["created"], report["updated"]) == (1, 1)
    again = await shop.at(ChannelName.WHATSAPP, f"whatsapp:{NUMBER}")
    assert again["id"] == first["id"] and again["external_id"] == "mom"
    everyone = await shop.everyone()
    assert sorted(c["external_id"] for c in everyone) == ["kid", "mom"]
    assert duplicates.json()["groups"] == []


async def test_a_number_first_heard_on_whatsapp_joins_the_customer_known_by_that_phone(
    shop: Shop,
) -> None:
    made = await shop.put(external_id="crm-9", name="Dana")
    # Given a phone later (an update does not open a WhatsApp identity by itself).
    await shop.put(external_id="crm-9", phone=LOCAL)

    await shop.whatsapp("hi, Dana here")

    joined = await shop.at(ChannelName.WHATSAPP, f"whatsapp:{NUMBER}")
    assert joined["id"] == made.json()["id"] and joined["name"] == "Dana"
    assert len(await shop.everyone()) == 1


async def test_a_deep_link_brings_the_chats_earlier_history_to_the_linked_record(
    shop: Shop, runtime: Runtime
) -> None:
    await shop.telegram(3001, "hello")
    await shop.telegram(3001, "I want a real person now")
    stranger = await shop.at(ChannelName.TELEGRAM, "3001")
    await _everything(shop, stranger["id"])
    earlier = await _rows(runtime, stranger["id"])
    maya = (await shop.put(external_id="m-1", name="Maya Cohen")).json()
    link = await shop.client.post(f"{shop.url}/{maya['id']}/telegram-link", headers=shop.auth)
    payload = link.json()["url"].split("start=")[1]

    await shop.telegram(3001, f"/start {payload}")

    joined = await shop.at(ChannelName.TELEGRAM, "3001")
    assert joined["id"] == maya["id"] and joined["external_id"] == "m-1"
    gone = await shop.client.get(f"{shop.url}/{stranger['id']}", headers=shop.auth)
    assert gone.status_code == 404
    now = await _rows(runtime, maya["id"])
    assert all(earlier[table] <= now[table] for table in KEYED), (earlier, now)
    assert all(earlier[table] for table in KEYED)  # the chat had a row in every table
    assert _counts(await _rows(runtime, stranger["id"])) == dict.fromkeys(KEYED, 0)
    assert await _audit(shop, "customer_merged", stranger["id"])


async def test_a_deep_link_moves_only_the_chats_history_from_a_record_that_keeps_other_channels(
    shop: Shop, runtime: Runtime
) -> None:
    await shop.telegram(3003, "I want a real person")
    stranger = await shop.at(ChannelName.TELEGRAM, "3003")
    await _everything(shop, stranger["id"])
    who = uuid.UUID(stranger["id"])
    now = runtime.services.clock.now()
    async with runtime.services.uow() as uow:
        # The same record is also reached in the sandbox, where nothing was said yet.
        await uow.identities.add(
            shop.business.id, who, channel=ChannelName.SANDBOX, address="kept-here", created_at=now
        )
        chat = await uow.identities.find(shop.business.id, ChannelName.TELEGRAM, "3003")
        assert chat is not None
        conversation = await uow.conversations.open_for(chat.id)
        assert conversation is not None
        (touch,) = await uow.checkins.list(
            shop.business.id, status=None, limit=5, offset=0, customer_id=who
        )
        # The check-in was asked in the chat, and answered there.
        await uow.session.execute(  # type: ignore[attr-defined]
            update(CheckinRow)
            .where(CheckinRow.id == touch.id)
            .values(conversation_id=conversation.id)
        )
        await uow.answers.add(
            shop.business.id,
            Answer(
                customer_id=who,
                checkin_id=touch.id,
                flow="checkin",
                question="how",
                value="good",
                answered_at=now,
            ),
        )
        await uow.commit()
    earlier = await _rows(runtime, stranger["id"])
    maya = (await shop.put(external_id="m-2", name="Maya")).json()
    link = await shop.client.post(f"{shop.url}/{maya['id']}/telegram-link", headers=shop.auth)

    await shop.telegram(3003, f"/start {link.json()['url'].split('start=')[1]}")

    kept = await _rows(runtime, stranger["id"])
    moved = await _rows(runtime, maya["id"])
    # The chat's thread moves: its conversation, messages, handoff, the check-in asked in it
    # and its answer, the question asked in it; the record keeps its other channel, its events
    # and what no conversation of the chat holds (an answer of no check-in).
    for table in ("conversations", "messages", "handoffs", "checkins", "knowledge_questions"):
        assert earlier[table] and earlier[table] <= moved[table], table
        assert not kept[table], table
    assert kept["events"] == earlier["events"]
    assert len(earlier["survey_answers"]) == 2
    assert len(kept["survey_answers"]) == 1
    assert earlier["survey_answers"] - kept["survey_answers"] <= moved["survey_answers"]
    (identity,) = (await shop.client.get(f"{shop.url}/{stranger['id']}", headers=shop.auth)).json()[
        "identities"
    ]
    assert identity["address"] == "kept-here"
    assert (await shop.at(ChannelName.TELEGRAM, "3003"))["id"] == maya["id"]


async def test_two_records_merge_with_every_table_moved_after_a_preview_that_changes_nothing(
    shop: Shop, runtime: Runtime
) -> None:
    await shop.whatsapp("I want a real person")
    noa = await shop.at(ChannelName.WHATSAPP, f"whatsapp:{NUMBER}")
    await shop.telegram(3002, "hello")
    await shop.telegram(3002, "I want a real person")
    other = await shop.at(ChannelName.TELEGRAM, "3002")
    await shop.put(external_id="crm-1", phone=LOCAL, attributes={"tags": ["vip"], "city": "Haifa"})
    await _everything(shop, noa["id"])
    await _everything(shop, other["id"])
    async with runtime.services.uow() as uow:
        await uow.customers.set_opted_out(
            uuid.UUID(other["id"]), True, at=runtime.services.clock.now()
        )
        await uow.commit()
    await shop.client.post(
        f"/api/v1/{shop.business.slug}/customers",
        json={"phone": "052-765-4321", "attributes": {"tags": ["late", "vip"], "size": "M"}},
        headers=shop.auth,
    )
    # That made a third customer; give the Telegram one its attributes through a merge below.
    third = next(c for c in await shop.everyone() if c["phone"] == "+972527654321")
    ours = await _rows(runtime, noa["id"])
    theirs = await _rows(runtime, other["id"])
    merge = f"{shop.url}/{noa['id']}/merge"

    preview = await shop.client.post(
        merge, json={"other": other["id"], "preview": True}, headers=shop.auth
    )

    assert preview.status_code == 200, preview.text
    assert preview.json()["preview"] is True
    assert sum(preview.json()["moved"].values()) == sum(_counts(theirs).values())
    assert preview.json()["survivor"]["opted_out"] is True
    assert await _rows(runtime, noa["id"]) == ours
    assert await _rows(runtime, other["id"]) == theirs
    assert not await _audit(shop, "customer_merged", other["id"])

    done = await shop.client.post(merge, json={"other": other["id"]}, headers=shop.auth)

    assert done.status_code == 200, done.text
    assert done.json()["moved"] == preview.json()["moved"]
    after = await _rows(runtime, noa["id"])
    for table in KEYED:
        assert ours[table] | theirs[table] <= after[table], table
    # Only the merge's own line on the timeline is new.
    assert _counts(after) == {t: len(ours[t]) + len(theirs[t]) + (t == "events") for t in KEYED}
    assert _counts(await _rows(runtime, other["id"])) == dict.fromkeys(KEYED, 0)
    gone = await shop.client.get(f"{shop.url}/{other['id']}", headers=shop.auth)
    assert gone.status_code == 404
    kept = (await shop.client.get(f"{shop.url}/{noa['id']}", headers=shop.auth)).json()
    assert kept["opted_out"] is True  # opted out on either record stays opted out
    assert sorted(i["channel"] for i in kept["identities"]) == ["telegram", "whatsapp"]
    assert await _audit(shop, "customer_merged", other["id"])
    async with runtime.services.uow() as uow:
        skipped = await uow.session.scalar(  # type: ignore[attr-defined]
            select(func.count()).where(
                CheckinRow.customer_id == uuid.UUID(noa["id"]), CheckinRow.reason == "merged"
            )
        )
    assert skipped == len(theirs["checkins"])

    # Fields the survivor lacks come from the other record; its own stay; tags are joined.
    joined = await shop.client.post(
        f"{shop.url}/{noa['id']}/merge", json={"other": third["id"]}, headers=shop.auth
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["survivor"]["phone"] == NUMBER
    assert joined.json()["survivor"]["attributes"] == {
        "tags": ["vip", "late"],
        "city": "Haifa",
        "size": "M",
    }


async def test_one_person_on_whatsapp_in_the_crm_and_on_telegram_has_one_record_with_it_all(
    shop: Shop, runtime: Runtime
) -> None:
    await shop.whatsapp("הזמנתי עוגה ליום שישי")
    report = await shop.load(f"external_id,name,phone,tags\ncrm-5,Noa Levi,{LOCAL},vip\n")
    await shop.telegram(3005, "hi, it's Noa on Telegram")
    noa = await shop.at(ChannelName.WHATSAPP, f"whatsapp:{NUMBER}")
    link = await shop.client.post(f"{shop.url}/{noa['id']}/telegram-link", headers=shop.auth)

    await shop.telegram(3005, f"/start {link.json()['url'].split('start=')[1]}")
    await shop.whatsapp("ועוד שאלה")

    assert (report["created"], report["updated"]) == (0, 1)
    (everyone,) = await shop.everyone()
    assert everyone["id"] == noa["id"] and everyone["external_id"] == "crm-5"
    assert sorted(i["channel"] for i in everyone["identities"]) == ["telegram", "whatsapp"]
    timeline = await shop.client.get(f"{shop.url}/{noa['id']}/timeline", headers=shop.auth)
    said = [
        i["text"]
        for i in timeline.json()["items"]
        if i["type"] == "message" and i["direction"] == "in"
    ]
    assert said[0] == "הזמנתי עוגה ליום שישי" and said[-1] == "ועוד שאלה"
    assert "hi, it's Noa on Telegram" in said


async def test_a_merge_is_refused_clearly_for_the_same_or_an_unknown_customer(
    shop: Shop,
) -> None:
    made = (await shop.put(external_id="a-1")).json()
    merge = f"{shop.url}/{made['id']}/merge"

    itself = await shop.client.post(merge, json={"other": made["id"]}, headers=shop.auth)
    unknown = await shop.client.post(merge, json={"other": str(uuid.uuid4())}, headers=shop.auth)
    garbled = await shop.client.post(merge, json={"other": "not-an-id"}, headers=shop.auth)

    assert (itself.status_code, itself.json()["error"]["code"]) == (400, "same_customer")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_customer")
    assert 400 <= garbled.status_code < 500
    assert len(await shop.everyone()) == 1


async def test_likely_duplicates_are_listed_for_a_person_to_confirm_and_never_merged(
    shop: Shop,
) -> None:
    a = (await shop.put(name="Dana", phone=LOCAL)).json()
    # The same phone without an id of the business: a second record of Dana.
    b = (await shop.put(external_id="d-7", name="Dana K", phone="0529999999")).json()
    await shop.put(external_id="d-7", phone=LOCAL)
    c = (await shop.put(external_id="x-1", attributes={"email": "Avi@Shop.test"})).json()
    d = (await shop.put(external_id="x-2", attributes={"email": " avi@shop.test"})).json()
    e = (await shop.put(external_id="C-0042")).json()
    f = (await shop.put(external_id="c 0042")).json()
    # A spreadsheet drops a numeric id's leading zeros.
    g = (await shop.put(external_id="00731")).json()
    h = (await shop.put(external_id="731")).json()
    await shop.put(external_id="fam-1", phone="0547654321")
    await shop.put(external_id="fam-2", phone="0547654321")

    listed = await shop.client.get(f"{shop.url}/duplicates", headers=shop.auth)

    assert listed.status_code == 200, listed.text
    groups = {
        (g["reason"], g["value"]): [x["id"] for x in g["customers"]]
        for g in listed.json()["groups"]
    }
    assert groups == {
        ("phone", NUMBER): [a["id"], b["id"]],
        ("email", "avi@shop.test"): [c["id"], d["id"]],
        ("external_id", "c0042"): [e["id"], f["id"]],
        ("external_id", "731"): [g["id"], h["id"]],
    }
    assert len(await shop.everyone()) == 10


async def _everything(shop: Shop, customer_id: str) -> None:
    """A row of the customer's in every table the channels did not fill: a note, a business
    event, a survey answer, a planned check-in, a question to the knowledge base."""
    runtime = shop.runtime
    slug = shop.business.slug
    handoffs = await shop.client.get(
        f"/api/v1/{slug}/handoffs", params={"status": "all"}, headers=shop.auth
    )
    mine = [h for h in handoffs.json() if h["customer_id"] == customer_id]
    agent = await _api_agent(shop.client, shop.business, shop.key)
    noted = await shop.client.post(
        f"/api/v1/{slug}/handoffs/{mine[0]['id']}/notes",
        json={"agent": agent["id"], "text": "called back"},
        headers=shop.auth,
    )
    assert noted.status_code == 201, noted.text
    posted = await shop.client.post(
        f"/api/v1/{slug}/events",
        json={"customer": {"id": customer_id}, "type": "purchase", "data": {"item": "cake"}},
        headers=shop.auth,
    )
    assert posted.status_code == 202, posted.text
    who = uuid.UUID(customer_id)
    now = runtime.services.clock.now()
    async with runtime.services.uow() as uow:
        await add_answers(uow, shop.business.id, [(who, 1, "nps", 9)], now=now)
        await uow.checkins.plan(
            shop.business.id,
            [
                PlannedTouch(
                    customer_id=who,
                    key=f"merge-test:{who}",
                    flow="checkin",
                    due_at=now + timedelta(days=1),
                    send_at=now + timedelta(days=1),
                )
            ],
            now=now,
        )
        (said, *_) = await uow.messages.for_customer(who, limit=1)
        if await uow.questions.for_message(said.id) is None:
            await uow.questions.add(
                shop.business.id,
                customer_id=who,
                message_id=said.id,
                text=said.text,
                first=True,
                asked_at=now,
            )
        await uow.commit()


async def _audit(shop: Shop, action: str, subject: str) -> bool:
    async with shop.runtime.services.uow() as uow:
        entries = await uow.audit.list(shop.business.id, limit=50)
    return any(e.action == action and e.subject == subject for e in entries)
