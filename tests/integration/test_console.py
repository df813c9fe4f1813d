"""The business console over HTTP: admins only, insights that match the hand-worked figures,
charts without scripts, and schedules made from the form with a preview."""

from __future__ import annotations

import re
import uuid

import httpx

from app.bootstrap import Runtime
from bot.domain import AgentRole, Business
from tests.integration.conftest import SQLITE_ONLY
from tests.integration.test_inbox import _agent, _csrf, _sign_in
from tests.integration.test_insights_api import _customer
from tests.seeds import add_answers, hand_worked, other_business

pytestmark = SQLITE_ONLY  # pages


async def _admin(client: httpx.AsyncClient, runtime: Runtime, shop: Business, **kw: str) -> str:
    await _sign_in(client, shop, await _agent(runtime, shop, role=AgentRole.ADMIN, **kw))
    return await _csrf(client)


async def test_the_console_is_for_admins_only(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    away = await client.get("/console")
    assert away.status_code == 303 and away.headers["location"] == "/console/login"
    await _sign_in(client, shop, await _agent(runtime, shop))

    refused = await client.get("/console")

    assert refused.status_code == 403
    assert 'id="admins-only"' in refused.text  # a page (test_console_settings has the rest)
    assert 'href="/console"' not in (await client.get("/inbox")).text


async def test_insights_show_the_hand_worked_numbers_and_charts_without_scripts(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    now = runtime.services.clock.now()
    falling = await _customer(client, runtime, shop, "falling")
    happy = await _customer(client, runtime, shop, "happy")
    async with runtime.services.uow() as uow:
        await add_answers(uow, shop.id, hand_worked(falling, happy), now=now)
        await uow.commit()
    await _admin(client, runtime, shop)

    page = await client.get("/console")

    assert page.status_code == 200
    text = page.text
    # 9 and 10 promoters, 4 a detractor: 100 × (2 − 1) / 3 = 33; CSAT (5 + 2) / 2 = 3.5.
    assert re.search(r'id="nps-score">33<', text)
    assert re.search(r'id="csat-average">3\.5<', text)
    # Four charts, and no script but the two vendored htmx files, requests.js and forms.js.
    assert text.count("<svg") == 4 and text.count("<script") == 4
    assert "<script>" not in text  # none inline
    assert "Promoters" in text and "NPS fell from 9 to 4" in text
    # Both customers wrote "hello", so both are English: one group holding every answer.
    groups = text[text.index('id="segments"') : text.index('id="risk"')]
    assert re.search(r"language: <bdi>English</bdi></td>\s*<td>33 .*\s*<td>3\.5 ", groups)
    risk = text[text.index('id="risk"') :]
    assert risk.index(str(falling)[:8]) < risk.index(str(happy)[:8])  # lowest health first
    assert "40 (high)" in risk  # 100 − 25 (detractor) − 20 (CSAT 2) − 15 (fell 9 → 4)
    # Each row opens the customer's record (a nameless one is known only by its id).
    assert f'href="/console/customers?q={falling}"' in risk


async def test_an_admin_previews_saves_and_pauses_a_schedule_from_the_form(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    for who in ("Dana", "Avi"):
        found = await _customer(client, runtime, shop, who)
        async with runtime.services.uow() as uow:
            await uow.customers.set_name(found, who)
            await uow.commit()
    csrf = await _admin(client, runtime, shop, language="he")
    form = {"name": "monthly", "flow": "checkin", "when": "every", "days": "1", "csrf": csrf}

    preview = await client.post("/console/schedules/preview", data=form)
    saved = await client.post("/console/schedules", data=form)

    # A new cadence counts from now: both are due in a day (business hours may move it a few).
    assert "2 לקוחות ייפנו אליהם ב־7 הימים הקרובים" in preview.text
    assert "כל יום מאז הפנייה האחרונה" in preview.text
    assert "<bdi>Dana</bdi>" in preview.text and "<bdi>Avi</bdi>" in preview.text
    assert saved.status_code == 303
    listed = await client.get(
        f"/api/v1/{shop.slug}/schedules", headers={"Authorization": f"Bearer {key}"}
    )
    (schedule,) = listed.json()
    assert schedule["definition"]["when"] == {"every": "1d"} and schedule["active"] is True
    await client.post("/console/schedules/monthly/pause", data={"csrf": csrf})
    page = await client.get("/console/schedules")
    assert 'data-schedule="monthly"' in page.text and "מושהה" in page.text
    listed = await client.get(
        f"/api/v1/{shop.slug}/schedules", headers={"Authorization": f"Bearer {key}"}
    )
    assert listed.json()[0]["active"] is False


async def test_a_bad_schedule_form_is_a_clear_error_and_saves_nothing(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop)
    form = {"name": "Bad Name!", "flow": "nps", "when": "after_event", "days": "2", "csrf": csrf}

    preview = await client.post("/console/schedules/preview", data=form)
    saved = await client.post("/console/schedules", data=form)
    unknown = await client.post("/console/schedules/nothing/pause", data={"csrf": csrf})

    assert preview.status_code == 200 and "name: 1 to 63 lowercase letters" in preview.text
    assert "when.after_event: must be an event type" in preview.text
    assert saved.status_code == 200 and 'role="alert"' in saved.text
    assert unknown.status_code == 200 and "no schedule named" in unknown.text
    listed = await client.get(
        f"/api/v1/{shop.slug}/schedules", headers={"Authorization": f"Bearer {key}"}
    )
    assert listed.json() == []


async def test_an_admin_adds_an_agent_who_can_then_sign_in(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    csrf = await _admin(client, runtime, shop)
    email = f"maya-{uuid.uuid4().hex[:6]}@shop.test"
    form = {"name": "מאיה", "email": email, "role": "agent", "language": "he", "csrf": csrf}

    weak = await client.post("/console/agents", data={**form, "password": "short", "capacity": "3"})
    added = await client.post(
        "/console/agents", data={**form, "password": "a long enough one", "capacity": "3"}
    )
    again = await client.post(
        "/console/agents", data={**form, "password": "a long enough one", "capacity": "3"}
    )
    team = await client.get("/console/agents")

    assert weak.status_code == 200 and "at least 10 characters" in weak.text
    assert added.status_code == 303
    assert again.status_code == 200 and "already exists" in again.text
    row = team.text[team.text.index(f'data-agent="{email}"') :].split("</tr>")[0]
    assert "מאיה" in row and "0 /" in row and 'name="capacity"' in row and 'value="3"' in row
    await client.post("/inbox/logout", data={"csrf": csrf})
    signed = await _sign_in(client, shop, email, "a long enough one")
    assert signed.status_code == 303
    assert (await client.get("/console")).status_code == 403  # an agent, not an admin


async def test_an_admin_sets_when_to_reach_out_and_a_bad_hour_is_named(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop)
    page = (await client.get("/console/rules")).text
    assert 'name="hours_sun" value="09:00-20:00"' in page  # the Israeli week by default
    assert 'name="hours_sat" value=""' in page
    form = {f"hours_{d}": "10:00-18:00" for d in ("mon", "tue", "wed", "thu", "sun")}
    form |= {"hours_fri": "", "hours_sat": "", "holidays": "on", "csrf": csrf}
    form |= {"closed_dates": "2026-12-25, 2027-01-01", "max_touches": "2", "cap_days": "14"}

    bad = await client.post("/console/rules", data={**form, "hours_mon": "25:00-26:00"})
    saved = await client.post("/console/rules", data={**form, "rest_days": "7"})

    assert bad.status_code == 200 and "hours.mon" in bad.text
    # The refused form comes back as typed, to be mended rather than typed again.
    assert 'name="hours_mon" value="25:00-26:00"' in bad.text
    assert 'name="hours_sun" value="10:00-18:00"' in bad.text
    assert 'value="2026-12-25, 2027-01-01"' in bad.text
    assert saved.status_code == 303
    stored = (
        await client.get(f"/api/v1/{shop.slug}/rules", headers={"Authorization": f"Bearer {key}"})
    ).json()["rules"]
    assert stored["hours"]["sun"] == "10:00-18:00" and stored["hours"]["fri"] is None
    assert (stored["max_touches"], stored["cap_window"], stored["rest_after_answer"]) == (
        2,
        "14d",
        "7d",
    )
    assert stored["closed_dates"] == ["2026-12-25", "2027-01-01"]
    page = (await client.get("/console/rules")).text
    assert 'name="hours_fri" value=""' in page and 'value="2026-12-25, 2027-01-01"' in page


async def test_numbers_that_are_not_numbers_in_the_console_forms_are_named(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop)
    agent = {"name": "Gil", "email": "gil@shop.test", "password": "a long enough one"}

    lots = await client.post("/console/agents", data={**agent, "capacity": "lots", "csrf": csrf})
    rules = await client.post(
        "/console/rules",
        data={"max_touches": "many", "cap_days": "", "rest_days": "x", "csrf": csrf},
    )

    assert lots.status_code == 200 and "capacity: must be from 1 to 100" in lots.text
    # The refused form keeps what was typed, but not the password.
    assert 'name="name" required maxlength="200" dir="auto" value="Gil"' in lots.text
    assert 'value="gil@shop.test"' in lots.text and "a long enough one" not in lots.text
    assert rules.status_code == 200
    for path in ("max_touches", "cap_window", "rest_after_answer"):
        assert f"{path}:" in rules.text
    stored = (
        await client.get(f"/api/v1/{shop.slug}/rules", headers={"Authorization": f"Bearer {key}"})
    ).json()["rules"]
    assert stored == {}  # nothing saved


async def test_an_admin_changes_capacity_and_role_but_never_leaves_the_business_without_admins(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop)
    async with runtime.services.uow() as uow:
        (me,) = await uow.agents.list(shop.id)
    maya = await _agent(runtime, shop)
    async with runtime.services.uow() as uow:
        found = await uow.agents.credentials(shop.id, maya)
    assert found is not None
    maya_id = found[0].id
    auth = {"Authorization": f"Bearer {key}"}

    raised = await client.post(
        f"/console/agents/{maya_id}", data={"capacity": "8", "role": "admin", "csrf": csrf}
    )
    refused = await client.post(
        f"/console/agents/{maya_id}", data={"capacity": "many", "role": "admin", "csrf": csrf}
    )
    assert raised.status_code == 303
    assert refused.status_code == 200 and "capacity: must be from 1 to 100" in refused.text
    listed = {
        a["id"]: a for a in (await client.get(f"/api/v1/{shop.slug}/agents", headers=auth)).json()
    }
    assert (listed[maya_id]["capacity"], listed[maya_id]["role"]) == (8, "admin")

    # Two admins: one may step down; then the other is the last and may not.
    stepped = await client.patch(
        f"/api/v1/{shop.slug}/agents/{me.id}", json={"role": "agent"}, headers=auth
    )
    last = await client.patch(
        f"/api/v1/{shop.slug}/agents/{maya_id}", json={"role": "agent"}, headers=auth
    )
    assert stepped.status_code == 200 and stepped.json()["capacity"] == me.capacity
    assert last.status_code == 400 and last.json()["error"]["code"] == "last_admin"
    huge = await client.patch(f"/api/v1/{shop.slug}/agents/{10**30}", json={}, headers=auth)
    assert huge.status_code == 422
    other, other_key = await other_business(runtime)
    theirs = await client.patch(
        f"/api/v1/{other.slug}/agents/{maya_id}",
        json={"capacity": 1},
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert theirs.status_code == 404


async def test_the_agents_page_shows_this_weeks_performance_in_hebrew(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop, language="he")
    auth = {"Authorization": f"Bearer {key}"}
    said = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={"customer": "dana", "text": "I want to talk to a real person"},
    )
    assert said.status_code == 200
    (handoff,) = (await client.get(f"/api/v1/{shop.slug}/handoffs", headers=auth)).json()
    (me,) = (await client.get(f"/api/v1/{shop.slug}/agents", headers=auth)).json()
    for action, body in (("reply", {"text": "Hi, I'm here"}), ("resolve", {})):
        done = await client.post(
            f"/api/v1/{shop.slug}/handoffs/{handoff['id']}/{action}",
            json={"agent": me["id"], **body},
            headers=auth,
        )
        assert done.status_code in (200, 202), done.text

    page = await client.get("/console/agents")

    section = page.text[page.text.index('id="performance"') :].split("</section>")[0]
    assert "ביצועי נציגים" in section and "זמן מענה ראשון (ממוצע)" in section
    assert "<th>שיחות</th>" in section
    row = section[section.index(f'data-agent-id="{me["id"]}"') :].split("</tr>")[0]
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    conversations, handled, first, resolved, solved = (c.strip() for c in cells[2:])
    # The one conversation, replied to and resolved: handled once.
    assert conversations == "1" and handled == "1" and solved == "—"  # no follow-up answer yet
    assert re.fullmatch(r"\d+ שנ׳", first) and re.fullmatch(r"\d+ שנ׳", resolved)  # seconds
    assert csrf
