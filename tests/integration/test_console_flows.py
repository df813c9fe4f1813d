"""The console's setup pieces over HTTP, on both backends: a schedule edited and deleted from
its card, and custom flows built, changed and deleted from the form builder, checked by the
same rules as the API, every problem named by its path and nothing typed lost."""

from __future__ import annotations

import re

import httpx

from app.bootstrap import Runtime
from bot.checkins import planning
from bot.domain import Business
from tests.integration.conftest import SQLITE_ONLY
from tests.integration.test_console import _admin
from tests.integration.test_inbox import _agent, _sign_in
from tests.integration.test_insights_api import _customer

pytestmark = SQLITE_ONLY  # pages

# Niqqud, every final letter and an emoji: what an owner types must come back as typed.
HELLO = "שָׁלוֹם מ־{business} 🌸"
LIKED = "מה אהבתם? ךםןףץ"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _flow_form(csrf: str, **more: str) -> dict[str, str]:
    """Three questions, a choice, a scale and words, in Hebrew and English."""
    return {
        "csrf": csrf,
        "name": "after-visit",
        "intro_he": HELLO,
        "intro_en": "Hello from {business} 🌸",
        "thanks_he": "תודה רבה!",
        "thanks_en": "",
        "q0_key": "liked",
        "q0_type": "choice",
        "q0_he": LIKED,
        "q0_en": "What did you like?",
        "q0_choices": "food | אוכל | Food\r\nstaff | צוות 👩‍🍳 | Staff\r\n",
        "q1_key": "score",
        "q1_type": "scale",
        "q1_he": "מ־1 עד 10?",
        "q1_en": "From 1 to 10?",
        "q1_min": "1",
        "q1_max": "10",
        "q2_key": "why",
        "q2_type": "text",
        "q2_he": "למה?",
        "q2_en": "Why?",
        **more,
    }


def _problem(page: str, slot: str) -> str:
    """The problems shown under the field `slot` names."""
    found = re.findall(rf'data-path="{re.escape(slot)}"><bdi>([^<]*)</bdi>', page)
    return " | ".join(found)


async def test_an_admin_edits_a_schedule_keeping_what_the_form_does_not_show(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    made = await client.post(
        f"/api/v1/{shop.slug}/schedules",
        json={
            "name": "weekly",
            "flow": "checkin",
            "when": {"every": "7d"},
            "segment": {"tags": ["vip"], "language": "he"},
            "priority": 20,
        },
        headers=_auth(key),
    )
    assert made.status_code == 201, made.text
    csrf = await _admin(client, runtime, shop)

    form = (await client.get("/console/schedules/weekly/edit")).text
    assert 'action="/console/schedules/weekly/edit"' in form
    assert 'name="days" min="0" max="365" value="7"' in form and 'value="vip"' in form
    assert "segment.language: &#34;he&#34;" in form and "priority: 20" in form  # kept, said so
    edited = {"flow": "nps", "when": "after_event", "event": "purchase", "days": "3"}
    edited |= {"tags": "vip, new", "editing": "weekly", "csrf": csrf}
    preview = await client.post("/console/schedules/preview", data=edited)
    bad = await client.post("/console/schedules/weekly/edit", data={**edited, "event": "Bad!"})
    saved = await client.post("/console/schedules/weekly/edit", data=edited)

    assert "3 days after every purchase" in preview.text
    assert bad.status_code == 200 and "when.after_event: must be an event type" in bad.text
    assert 'value="Bad!"' in bad.text and 'value="vip, new"' in bad.text  # as typed
    assert saved.status_code == 303
    page = await client.get("/console/schedules")
    card = page.text[page.text.index('data-schedule="weekly"') :].split("</details>")[0]
    assert "3 days after every purchase" in card and "NPS survey" in card
    stored = (await client.get(f"/api/v1/{shop.slug}/schedules/weekly", headers=_auth(key))).json()
    assert stored["definition"]["segment"] == {"language": "he", "tags": ["vip", "new"]}
    assert stored["priority"] == 20 and stored["description"]["en"] == "3 days after every purchase"


async def test_an_admin_deletes_a_schedule_once_the_box_is_ticked(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop, language="he")
    form = {"name": "monthly", "flow": "csat", "when": "every", "days": "30", "csrf": csrf}
    assert (await client.post("/console/schedules", data=form)).status_code == 303

    unticked = await client.post("/console/schedules/monthly/delete", data={"csrf": csrf})
    unknown = await client.post(
        "/console/schedules/nothing/delete", data={"confirm": "on", "csrf": csrf}
    )
    deleted = await client.post(
        "/console/schedules/monthly/delete", data={"confirm": "on", "csrf": csrf}
    )

    assert unticked.status_code == 200 and "סמנו את תיבת האישור" in unticked.text
    assert unknown.status_code == 200 and "no schedule named" in unknown.text
    assert deleted.status_code == 303
    listed = await client.get(f"/api/v1/{shop.slug}/schedules", headers=_auth(key))
    assert listed.json() == []
    assert 'data-schedule="monthly"' not in (await client.get("/console/schedules")).text


async def test_an_admin_builds_a_custom_flow_in_hebrew_and_english_from_the_form(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop, language="he")
    assert 'href="/console/flows"' in (await client.get("/console/schedules")).text

    saved = await client.post("/console/flows/new", data=_flow_form(csrf))

    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].startswith("/console/flows?saved=after-visit")
    found = await client.get(f"/api/v1/{shop.slug}/flows/after-visit", headers=_auth(key))
    assert found.status_code == 200
    assert found.json()["flow"] == "custom:after-visit"
    assert found.json()["definition"] == {
        "name": "after-visit",
        "intro": {"he": HELLO, "en": "Hello from {business} 🌸"},
        "thanks": {"he": "תודה רבה!"},
        "questions": [
            {
                "key": "liked",
                "type": "choice",
                "text": {"he": LIKED, "en": "What did you like?"},
                "choices": [
                    {"id": "food", "he": "אוכל", "en": "Food"},
                    {"id": "staff", "he": "צוות 👩‍🍳", "en": "Staff"},
                ],
            },
            {
                "key": "score",
                "type": "scale",
                "text": {"he": "מ־1 עד 10?", "en": "From 1 to 10?"},
                "min": 1,
                "max": 10,
            },
            {"key": "why", "type": "text", "text": {"he": "למה?", "en": "Why?"}},
        ],
    }
    schedules = (await client.get("/console/schedules")).text
    assert '<option value="custom:after-visit">שאלון: after-visit</option>' in schedules
    listed = (await client.get("/console/flows")).text
    card = listed[listed.index('data-flow="after-visit"') :].split("</article>")[0]
    assert "שָׁלוֹם מ־Café Kesher 🌸" in card and LIKED in card and "צוות 👩‍🍳" in card
    assert "מספר מ־1 עד 10" in card and "אף תזמון לא משתמש בו" in card
    # The edit form gives back every field as it was typed.
    edit = (await client.get("/console/flows/after-visit/edit")).text
    assert "food | אוכל | Food\nstaff | צוות 👩‍🍳 | Staff" in edit and HELLO in edit
    assert 'name="q1_max" value="10"' in edit and 'name="name" value="after-visit"' in edit


async def test_the_builder_adds_and_removes_questions_keeping_what_was_typed(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    csrf = await _admin(client, runtime, shop, language="he")
    assert (await client.get("/console/flows/new")).text.count('class="question') == 1

    added = await client.post("/console/flows/form", data=_flow_form(csrf, add="1"))
    removed = await client.post("/console/flows/form", data=_flow_form(csrf, remove="0"))

    assert added.status_code == 200 and added.text.count('class="question') == 4
    assert (
        'name="q3_key" value="" dir="ltr" maxlength="40" placeholder="q4" autofocus' in added.text
    )
    assert LIKED in added.text and "<html" not in added.text  # a fragment for htmx
    assert removed.text.count('class="question') == 2 and LIKED not in removed.text
    assert 'name="q0_key" value="score"' in removed.text  # the others move up
    assert HELLO in removed.text


async def test_a_bad_flow_form_names_each_problem_by_its_path_and_keeps_the_hebrew(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop, language="he")
    bad = _flow_form(
        csrf,
        q0_choices="",  # a choice question without choices
        q1_min="7",
        q1_max="3",  # min above max
        q2_key="liked",  # the first question's key again
    )

    page = await client.post("/console/flows/new", data=bad)

    assert page.status_code == 200
    assert 'id="flow-problems"' in page.text
    assert "questions[0].choices: must be a list of 2 to 10 choices" in _problem(
        page.text, "q0.choices"
    )
    assert "questions[1]: min and max must be whole numbers" in _problem(page.text, "q1.bounds")
    assert "questions[2].key: liked is used twice" in _problem(page.text, "q2.key")
    # Everything typed is still there, Hebrew as typed.
    assert HELLO in page.text and LIKED in page.text
    assert 'name="q1_min" value="7"' in page.text and 'name="q2_key" value="liked"' in page.text
    found = await client.get(f"/api/v1/{shop.slug}/flows/after-visit", headers=_auth(key))
    assert found.status_code == 404
    taken = await client.post("/console/flows/new", data=_flow_form(csrf, name="Bad Name"))
    assert "name: 1 to 63 lowercase letters" in _problem(taken.text, "name")


async def test_a_flow_a_schedule_runs_is_not_deleted_until_the_schedule_goes(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop)
    assert (await client.post("/console/flows/new", data=_flow_form(csrf))).status_code == 303
    again = await client.post("/console/flows/new", data=_flow_form(csrf))
    changed = await client.post(
        "/console/flows/after-visit/edit",
        data=_flow_form(csrf, name="ignored", q2_en="Why so?"),
    )
    schedule = {"name": "visits", "flow": "custom:after-visit", "when": "every", "days": "7"}
    assert (
        await client.post("/console/schedules", data={**schedule, "csrf": csrf})
    ).status_code == 303

    refused = await client.post(
        "/console/flows/after-visit/delete", data={"confirm": "on", "csrf": csrf}
    )
    over_api = await client.delete(f"/api/v1/{shop.slug}/flows/after-visit", headers=_auth(key))
    await client.post("/console/schedules/visits/delete", data={"confirm": "on", "csrf": csrf})
    deleted = await client.post(
        "/console/flows/after-visit/delete", data={"confirm": "on", "csrf": csrf}
    )

    assert "name: a flow named after-visit already exists" in _problem(again.text, "name")
    assert changed.status_code == 303
    assert refused.status_code == 200 and "used by the schedules visits" in refused.text
    assert over_api.status_code == 400 and over_api.json()["error"]["code"] == "flow_in_use"
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/console/flows?deleted=after-visit"
    listed = await client.get(f"/api/v1/{shop.slug}/flows", headers=_auth(key))
    assert listed.json() == []
    gone = await client.delete(f"/api/v1/{shop.slug}/flows/after-visit", headers=_auth(key))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_flow"


async def test_a_flow_with_touches_not_over_is_not_deleted(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _customer(client, runtime, shop, "dana")
    csrf = await _admin(client, runtime, shop)
    await client.post("/console/flows/new", data=_flow_form(csrf))
    schedule = {"name": "visits", "flow": "custom:after-visit", "when": "every", "days": "1"}
    await client.post("/console/schedules", data={**schedule, "csrf": csrf})
    # Planning serves every business in the database (on PostgreSQL earlier tests' too).
    await planning.plan(runtime.services, now=runtime.services.clock.now())
    async with runtime.services.uow() as uow:
        assert await uow.checkins.unfinished(shop.id, flow="custom:after-visit") == 1
    # The schedule moves to NPS; the touch it planned still runs the custom flow.
    await client.post(
        "/console/schedules/visits/edit", data={**schedule, "flow": "nps", "csrf": csrf}
    )

    refused = await client.delete(f"/api/v1/{shop.slug}/flows/after-visit", headers=_auth(key))

    assert refused.status_code == 400
    assert (
        "after-visit still has touches planned or waiting for an answer (1)"
        in refused.json()["error"]["message"]
    )


async def test_the_flows_page_shows_the_built_in_questions_in_the_admins_language(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _admin(client, runtime, shop, language="he")

    page = (await client.get("/console/flows")).text

    nps = page[page.index('data-flow="nps"') :].split("</article>")[0]
    assert "עד כמה סביר שתמליצו על Café Kesher" in nps
    for why in ("מה היינו צריכים לעשות אחרת", "מה היה גורם לכם לתת לנו 10", "מה הכי אהבתם"):
        assert why in nps  # worded by the score before it
    checkin = page[page.index('data-flow="checkin"') :].split("</article>")[0]
    assert "מצוין 😀" in checkin and "מספר מ־0 עד 10" in nps
    assert 'dir="rtl"' in page


async def test_the_flow_pages_are_for_admins_only(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _sign_in(client, shop, await _agent(runtime, shop))
    csrf = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/inbox")).text)
    assert csrf is not None

    pages = [await client.get(p) for p in ("/console/flows", "/console/flows/new")]
    made = await client.post("/console/flows/new", data=_flow_form(csrf.group(1)))
    edit = await client.post(
        "/console/schedules/any/delete", data={"confirm": "on", "csrf": csrf.group(1)}
    )

    for refused in (*pages, made, edit):
        assert refused.status_code == 403 and 'id="admins-only"' in refused.text
    listed = await client.get(f"/api/v1/{shop.slug}/flows", headers=_auth(key))
    assert listed.json() == []
