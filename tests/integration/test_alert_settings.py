"""An agent's own alert settings page: in their language, saved as chosen, a wrong field
refused with its reason (and what was typed kept), the missing WhatsApp template said."""

from __future__ import annotations

import httpx

from app.bootstrap import Runtime
from bot.domain import Business
from tests.integration.conftest import SQLITE_ONLY
from tests.integration.test_inbox import _agent, _csrf, _sign_in

pytestmark = SQLITE_ONLY  # a page; the alerts themselves run on both in test_staff_alerts


async def _stored(runtime: Runtime, shop: Business, email: str) -> dict[str, object]:
    async with runtime.services.uow() as uow:
        found = await uow.agents.credentials(shop.id, email)
    assert found is not None
    return dict(found[0].alerts)


async def test_an_agent_chooses_media_events_and_working_hours_and_they_are_kept(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    email = await _agent(runtime, shop, language="he")
    await _sign_in(client, shop, email)
    inbox = await client.get("/inbox")
    assert 'href="/inbox/alerts"' in inbox.text and "ההתראות שלי" in inbox.text

    page = await client.get("/inbox/alerts")
    assert page.status_code == 200 and 'dir="rtl"' in page.text
    assert "פנייה עומדת לחרוג מזמן המענה" in page.text and "Telegram" not in page.text
    assert 'name="sla_missed_email"' not in page.text, "the late alert is the admins'"
    saved = await client.post(
        "/inbox/alerts",
        data={
            "csrf": await _csrf(client),
            "new_handoff_email": "on",
            "new_handoff_browser": "on",
            "sla_warning_telegram": "on",
            "whatsapp": "+972 50-111-2233",
            "hours": "on",
            "day_0": "on",
            "day_4": "on",
            "from": "08:30",
            "to": "17:00",
            "off_hours": "email",
        },
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/inbox/alerts?saved=true")

    assert await _stored(runtime, shop, email) == {
        "events": {
            "new_handoff": ["browser", "email"],
            "sla_warning": ["telegram"],
            "sla_missed": [],
            "new_conversation": [],
        },
        "hours": {"days": [0, 4], "from": "08:30", "to": "17:00"},
        "off_hours": "email",
        "whatsapp": "+972501112233",
    }
    shown = (await client.get("/inbox/alerts?saved=true")).text
    assert "נשמר." in shown and 'value="08:30"' in shown and 'value="+972501112233"' in shown
    assert 'name="day_4" checked' in shown and 'name="day_5" checked' not in shown
    assert 'data-events="new_handoff"' in (await client.get("/inbox")).text


async def test_a_wrong_field_is_refused_with_its_reason_and_nothing_is_kept(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    email = await _agent(runtime, shop)
    await _sign_in(client, shop, email)
    csrf = await _csrf(client)

    for wrong, field in (
        ({"whatsapp": "050-1234"}, "whatsapp"),
        ({"hours": "on", "from": "18:00", "to": "09:00", "day_1": "on"}, "hours"),
        ({"hours": "on", "from": "09:00", "to": "18:00"}, "hours"),
        ({"hours": "on", "from": "25:00", "to": "26:00", "day_1": "on"}, "hours"),
        ({"off_hours": "sms"}, "off_hours"),
    ):
        refused = await client.post("/inbox/alerts", data={"csrf": csrf, **wrong})
        assert refused.status_code == 400 and f'data-field="{field}"' in refused.text, wrong
    assert "Choose what happens outside working hours." in refused.text
    assert await _stored(runtime, shop, email) == {}
    kept = await client.post(
        "/inbox/alerts", data={"csrf": csrf, "whatsapp": "050-1234", "new_handoff_email": "on"}
    )
    assert (
        'value="050-1234"' in kept.text
        and 'name="new_handoff_email" id="new_handoff_email" checked' in kept.text
    )


async def test_the_page_says_when_the_business_has_no_whatsapp_alert_template(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _sign_in(client, shop, await _agent(runtime, shop))

    page = await client.get("/inbox/alerts")

    assert "WhatsApp is not connected for the business" in page.text
    assert "Email is not set up on this server" in page.text
