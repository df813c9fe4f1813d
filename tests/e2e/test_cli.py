"""The documented promises, run as a user would: `kesher serve` and friends in real processes."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.bootstrap import build
from app.cli import app
from app.settings import Settings
from bot.domain import AccountStatus, ChannelName
from storage.credentials import CredentialCipher, UnreadableCredentials
from storage.database import create_engine
from tests.e2e.conftest import Kesher, demo_key
from tests.integration.conftest import TEST_SECRET_KEY

# In the fast detector's uncertain band at `balanced`: its verdict is the encoder's to give.
UNSURE = "still waiting for my refund"


def _conversation(base: str, key: str, customer: str) -> tuple[dict, list[dict]]:
    """Post one sandbox message; return the reply body and the customer's timeline."""
    auth = {"Authorization": f"Bearer {key}"}
    posted = httpx.post(
        f"{base}/api/v1/demo/sandbox/messages",
        json={"customer": customer, "text": "שלום, יש לי שאלה"},
        headers=auth,
        timeout=10,
    )
    assert posted.status_code == 200, posted.text
    found = httpx.get(
        f"{base}/api/v1/demo/customers",
        params={"channel": "sandbox", "address": customer},
        headers=auth,
    ).json()["customers"]
    assert len(found) == 1
    timeline = httpx.get(
        f"{base}/api/v1/demo/customers/{found[0]['id']}/timeline", headers=auth
    ).json()["items"]
    return posted.json(), timeline


def _wait_sent(base: str, key: str, customer: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while True:
        messages = httpx.get(
            f"{base}/api/v1/demo/sandbox/messages",
            params={"customer": customer},
            headers={"Authorization": f"Bearer {key}"},
        ).json()["messages"]
        messages = [m for m in messages if m["direction"] == "out"]
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def test_serve_with_no_configuration_runs_the_demo_on_sqlite(kesher: Kesher) -> None:
    server, base = kesher.serve()
    key = demo_key(server)

    assert (kesher.directory / "kesher.db").exists()
    page = httpx.get(f"{base}/sandbox")
    assert page.status_code == 200 and 'dir="rtl"' in page.text
    reply, timeline = _conversation(base, key, "web-1")
    assert "תודה שכתבתם" in reply["replies"][0]["text"]
    assert [(i["direction"], i["status"]) for i in timeline if i["type"] == "message"] == [
        ("in", "received"),
        ("out", "delivered"),
    ]
    assert len(_wait_sent(base, key, "web-1", 1)) == 1
    assert httpx.get(f"{base}/readyz").json()["checks"] == {"database": True}


def test_a_restart_keeps_the_record_and_does_not_create_the_demo_twice(kesher: Kesher) -> None:
    first, base = kesher.serve()
    key = demo_key(first)
    _conversation(base, key, "web-2")
    first.stop()

    second, base = kesher.serve()
    time.sleep(0.5)
    assert "demo API key" not in second.output()
    _, timeline = _conversation(base, key, "web-2")
    assert [i["direction"] for i in timeline if i["type"] == "message"] == [
        "in",
        "out",
        "in",
        "out",
    ]


def test_business_create_prints_its_key_once_as_json_and_refuses_a_taken_slug(
    kesher: Kesher,
) -> None:
    created = kesher.run(
        "business", "create", "--slug", "cafe", "--name", "קפה", "--sandbox", "--json"
    )
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert body["slug"] == "cafe" and body["api_key"].startswith("ksh_")

    again = kesher.run("business", "create", "--slug", "cafe", "--name", "Other")
    assert again.returncode != 0
    assert "already exists" in again.stderr
    bad = kesher.run("business", "create", "--slug", "Not A Slug", "--name", "x")
    assert bad.returncode != 0 and "slug" in bad.stderr
    long = kesher.run("business", "create", "--slug", "long", "--name", "ש" * 201)
    assert long.returncode != 0 and "at most 200" in long.stderr


def test_invalid_settings_stop_the_start_with_a_message_naming_the_variable(kesher: Kesher) -> None:
    kesher.env["KESHER_DATABASE_URL"] = "mysql://localhost/kesher"
    result = kesher.run("serve")

    assert result.returncode == 2
    assert "KESHER_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_web_and_a_separate_worker_on_postgres_and_redis_answer_the_same_conversation(
    kesher: Kesher, empty_postgres: str, redis_url: str, redis_client: object
) -> None:
    kesher.env.update(
        KESHER_DATABASE_URL=empty_postgres,
        KESHER_REDIS_URL=redis_url,
        KESHER_SECRET_KEY=TEST_SECRET_KEY,
    )
    upgraded = kesher.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    server, base = kesher.serve("--no-worker")
    key = demo_key(server)
    kesher.start("worker")

    anonymous = httpx.post(
        f"{base}/api/v1/demo/sandbox/messages", json={"customer": "x", "text": "hi"}
    )
    assert anonymous.status_code == 401
    reply, _ = _conversation(base, key, "pg-1")
    assert "תודה שכתבתם" in reply["replies"][0]["text"]
    sent = _wait_sent(base, key, "pg-1", 1)
    assert [m["text"] for m in sent] == [reply["replies"][0]["text"]]
    assert httpx.get(f"{base}/readyz").json()["checks"] == {"database": True, "redis": True}


def test_customers_import_reports_bad_lines_keeps_good_rows_and_updates_on_reimport(
    kesher: Kesher,
) -> None:
    assert kesher.run("business", "create", "--slug", "gym", "--name", "Gym").returncode == 0
    sheet = kesher.directory / "customers.csv"
    sheet.write_text(
        "external_id,name,phone\nm-1,מאיה,050-555-1234\nm-2,Bad,12\nm-3,Tal,052-765-4321\n",
        encoding="utf-8",
    )

    first = kesher.run("customers", "import", str(sheet), "--business", "gym", "--json")
    again = kesher.run("customers", "import", str(sheet), "--business", "gym")

    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "created": 2,
        "updated": 0,
        "errors": [{"line": 3, "message": "phone: '12' is not a valid phone number"}],
    }
    assert again.returncode == 0
    assert "created 0, updated 2, bad rows 1" in again.stdout
    assert "line 3: phone" in again.stdout
    unknown = kesher.run("customers", "import", str(sheet), "--business", "nope")
    assert unknown.returncode == 1 and "no business 'nope'" in unknown.stderr
    folder = kesher.run("customers", "import", str(kesher.directory), "--business", "gym")
    assert folder.returncode == 2 and "Invalid value" in folder.stderr  # "… is a directory"
    assert "Traceback" not in folder.stderr


def test_customer_find_duplicates_and_merge_with_a_preview_from_the_command_line(
    kesher: Kesher,
) -> None:
    assert kesher.run("business", "create", "--slug", "spa", "--name", "Spa").returncode == 0
    sheet = kesher.directory / "spa.csv"
    sheet.write_text(
        "external_id,name,phone,email\nd-1,Dana,050-555-1234,dana@spa.test\n"
        "d-2,Dana Levi,,DANA@spa.test\n",
        encoding="utf-8",
    )
    assert kesher.run("customers", "import", str(sheet), "--business", "spa").returncode == 0

    found = kesher.run("customer", "find", "+972 50-555-1234", "--business", "spa", "--json")
    listed = kesher.run("customer", "duplicates", "--business", "spa", "--json")
    (group,) = json.loads(listed.stdout)
    first, second = group["customers"]
    kept, other = first["id"], second["id"]
    preview = kesher.run(
        "customer", "merge", kept, other, "--business", "spa", "--preview", "--json"
    )
    merged = kesher.run("customer", "merge", kept, other, "--business", "spa")
    after = kesher.run("customer", "find", "dana", "--business", "spa", "--json")
    garbled = kesher.run("customer", "merge", kept, "nope", "--business", "spa")

    assert found.returncode == 0, found.stderr
    assert [c["external_id"] for c in json.loads(found.stdout)] == ["d-1"]
    assert (group["reason"], group["value"]) == ("email", "dana@spa.test")
    assert preview.returncode == 0, preview.stderr
    shown = json.loads(preview.stdout)
    assert shown["preview"] is True and shown["moved"]["events"] == 1
    assert merged.returncode == 0, merged.stderr
    assert f"customer {other} merged and deleted" in merged.stdout
    # The survivor keeps its own id and takes the phone only the other may have had.
    (dana,) = json.loads(after.stdout)
    assert (dana["id"], dana["external_id"]) == (kept, first["external_id"])
    assert dana["phone"] == "+972505551234"
    assert garbled.returncode == 2 and "'nope' is not a customer id" in garbled.stderr


def test_detect_scores_json_lines_offline_one_line_out_per_line_in(kesher: Kesher) -> None:
    lines = [
        {"id": 1, "text": "אני רוצה לדבר עם נציג"},
        {"id": "x-2", "text": "thank you, everything arrived"},
        {"id": 3, "text": "I want to cancel my account"},
    ]
    stdin = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\nnot json\n"
    result = kesher.run("detect", "--lang", "auto", stdin=stdin)

    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, "x-2", 3, None]
    assert [o.get("handoff") for o in out[:3]] == [True, False, True]
    assert all(0 <= o["score"] <= 1 and isinstance(o["reasons"], list) for o in out[:3])
    assert "not JSON" in out[3]["error"]
    assert kesher.run("detect", "--lang", "fr", stdin="").returncode == 2


def test_detect_gives_an_unsure_message_the_real_encoders_opinion_and_only_that_one(
    kesher: Kesher,
) -> None:
    lines = [
        {"id": "unsure", "text": UNSURE},
        {"id": "sure", "text": "thank you, everything arrived"},
        {"id": "asks", "text": "אני רוצה לדבר עם נציג"},
    ]
    stdin = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"

    result = kesher.run("detect", stdin=stdin)
    kesher.env["KESHER_ENCODER"] = "false"
    without = kesher.run("detect", stdin=stdin)

    assert result.returncode == 0 and without.returncode == 0, result.stderr + without.stderr
    unsure, sure, asks = (json.loads(line) for line in result.stdout.splitlines())
    assert set(unsure) == {"id", "score", "handoff", "reasons"}
    assert unsure["reasons"][-1].startswith("encoder ")
    assert not any(r.startswith("encoder") for r in sure["reasons"] + asks["reasons"])
    assert asks["handoff"] is True
    fast = json.loads(without.stdout.splitlines()[0])
    assert not any(r.startswith("encoder") for r in fast["reasons"])
    assert fast["score"] != unsure["score"]


def test_whatsapp_connect_checks_the_values_and_prints_the_two_urls_to_paste(
    kesher: Kesher,
) -> None:
    kesher.env["KESHER_PUBLIC_URL"] = "https://kesher.example.com"
    assert kesher.run("business", "create", "--slug", "clinic", "--name", "Clinic").returncode == 0
    sid, sender = "AC" + "0" * 31 + "1", "whatsapp:+972501234567"

    connected = kesher.run(
        "whatsapp",
        "connect",
        "--business",
        "clinic",
        "--account-sid",
        sid,
        "--auth-token",
        "secret-token-123",
        "--sender",
        sender,
    )
    refused = kesher.run(
        "whatsapp",
        "connect",
        "--business",
        "clinic",
        "--account-sid",
        "XX1",
        "--auth-token",
        "t",
        "--sender",
        sender,
    )

    assert connected.returncode == 0, connected.stderr
    assert "https://kesher.example.com/webhooks/whatsapp/clinic\n" in connected.stdout
    assert "https://kesher.example.com/webhooks/whatsapp/clinic/status" in connected.stdout
    assert "secret-token-123" not in connected.stdout + connected.stderr
    assert refused.returncode == 1 and "starts with 'AC'" in refused.stderr
    assert "Traceback" not in refused.stderr


SCHEDULES_YAML = """\
rules:
  hours: {fri: null}
  max_touches: 1
  cap_window: 7d
flows:
  - name: visit
    questions:
      - type: scale
        min: 1
        max: 5
        text: {he: "איך היה הביקור?", en: "How was your visit?"}
schedules:
  - name: weekly
    flow: checkin
    when: {every: 7d}
  - name: after-visit
    flow: custom:visit
    when: {after_event: visit, delay: 3h}
    segment: {language: he}
  - name: launch
    flow: nps
    when: {at: 2026-12-01 10:00, timezone: Asia/Jerusalem}
"""


def test_schedules_apply_saves_a_yaml_file_whole_or_not_at_all(kesher: Kesher) -> None:
    assert kesher.run("business", "create", "--slug", "spa", "--name", "Spa").returncode == 0
    good = kesher.directory / "schedules.yaml"
    good.write_text(SCHEDULES_YAML, encoding="utf-8")
    bad = kesher.directory / "bad.yaml"
    bad.write_text(
        SCHEDULES_YAML.replace("every: 7d", "every: sometimes").replace(
            "Asia/Jerusalem", "Asia/Atlantis"
        ),
        encoding="utf-8",
    )
    broken = kesher.directory / "broken.yaml"
    broken.write_text("schedules: [\n", encoding="utf-8")
    twice = kesher.directory / "twice.yaml"  # the second "launch" would replace the first
    twice.write_text(
        SCHEDULES_YAML + "  - name: launch\n    flow: csat\n    when: {every: 30d}\n",
        encoding="utf-8",
    )

    refused = kesher.run("schedules", "apply", str(bad), "--business", "spa")
    unreadable = kesher.run("schedules", "apply", str(broken), "--business", "spa")
    doubled = kesher.run("schedules", "apply", str(twice), "--business", "spa")
    saved = kesher.run("schedules", "apply", str(good), "--business", "spa")
    again = kesher.run("schedules", "apply", str(good), "--business", "spa")

    assert refused.returncode == 1
    assert "schedules[0].when.every: must be a duration" in refused.stderr
    assert "schedules[2].when.timezone: unknown timezone 'Asia/Atlantis'" in refused.stderr
    assert unreadable.returncode == 1 and "not readable YAML" in unreadable.stderr
    assert doubled.returncode == 1
    assert "schedules[3].name: 'launch' is in the document twice" in doubled.stderr
    assert saved.returncode == 0, saved.stderr
    assert "saved 1 flows and 3 schedules" in saved.stdout
    assert again.returncode == 0


def test_whatsapp_templates_consent_words_and_disconnect_from_the_command_line(
    kesher: Kesher,
) -> None:
    assert kesher.run("business", "create", "--slug", "spa", "--name", "Spa").returncode == 0
    connect = ["whatsapp", "connect", "--business", "spa", "--account-sid", "AC" + "0" * 32]
    assert (
        kesher.run(*connect, "--auth-token", "tok", "--sender", "whatsapp:+97231234567").returncode
        == 0
    )
    good = kesher.directory / "templates.yaml"
    good.write_text(
        "checkin:\n"
        f"  he: {{sid: HX{'a' * 32}, variables: [customer_name, business]}}\n"
        f"  en: HX{'b' * 32}\n",
        encoding="utf-8",
    )
    bad = kesher.directory / "bad.yaml"
    bad.write_text(f"checkin:\n  fr: HX{'a' * 32}\n", encoding="utf-8")

    stored = kesher.run("whatsapp", "templates", "--business", "spa", "--file", str(good))
    refused = kesher.run("whatsapp", "templates", "--business", "spa", "--file", str(bad))
    option = kesher.run(
        "whatsapp", "templates", "--business", "spa", "--template", f"nps:he=HX{'c' * 32}"
    )
    words = kesher.run(
        "business", "consent-words", "--slug", "spa", "--opt-out", "עָצוּר!", "--opt-in", "Back"
    )
    clash = kesher.run(
        "business", "consent-words", "--slug", "spa", "--opt-out", "x", "--opt-in", "X"
    )
    gone = kesher.run("whatsapp", "disconnect", "--business", "spa")
    again = kesher.run("whatsapp", "disconnect", "--business", "spa")

    assert stored.returncode == 0, stored.stderr
    assert f"HX{'a' * 32}" in stored.stdout and "customer_name" in stored.stdout
    assert refused.returncode == 1 and "templates.checkin.fr" in refused.stderr
    assert option.returncode == 0 and "nps" in option.stdout
    assert words.returncode == 0 and "opt-out: עצור" in words.stdout and "back" in words.stdout
    assert clash.returncode == 1 and "also an opt-out word" in clash.stderr
    assert gone.returncode == 0 and "disconnected" in gone.stdout
    assert again.returncode == 1 and "not connected" in again.stderr


def test_whatsapp_connect_sets_the_senders_mps_and_refuses_one_twilio_cannot_give(
    kesher: Kesher,
) -> None:
    assert kesher.run("business", "create", "--slug", "spa", "--name", "Spa").returncode == 0
    connect = ["whatsapp", "connect", "--business", "spa", "--account-sid", "AC" + "0" * 32]
    connect += ["--auth-token", "tok", "--sender", "whatsapp:+97231234567"]

    raised = kesher.run(*connect, "--mps", "120")
    kept = kesher.run(*connect)
    refused = kesher.run(*connect, "--mps", "401")

    assert raised.returncode == 0 and "at 120 messages a second" in raised.stdout
    assert kept.returncode == 0 and "at 120 messages a second" in kept.stdout
    assert refused.returncode == 1 and "must be 1 to 400" in refused.stderr


def test_agent_create_refuses_a_short_password_a_taken_email_and_a_bad_language(
    kesher: Kesher,
) -> None:
    kesher.run("business", "create", "--slug", "cafe", "--name", "קפה")
    args = ("agent", "create", "--business", "cafe", "--email", "noa@cafe.test", "--name", "Noa")

    short = kesher.run(*args, "--password-stdin", stdin="short\n")
    made = kesher.run(*args, "--role", "admin", "--password-stdin", stdin="correct horse battery\n")
    taken = kesher.run(*args, "--password-stdin", stdin="correct horse battery\n")
    language = kesher.run(*args, "--language", "fr", "--password-stdin", stdin="long enough pw\n")

    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    assert made.returncode == 0 and "created admin noa@cafe.test" in made.stdout
    assert taken.returncode == 1 and "already exists" in taken.stderr
    assert language.returncode == 2 and "he or en" in language.stderr


def test_agents_are_disabled_enabled_and_deleted_and_the_last_admin_is_kept(
    kesher: Kesher,
) -> None:
    kesher.run("business", "create", "--slug", "cafe", "--name", "קפה")
    for email, role in (("boss@cafe.test", "admin"), ("noa@cafe.test", "agent")):
        kesher.run(
            "agent", "create", "--business", "cafe", "--email", email, "--name", email[:4],
            "--role", role, "--password-stdin", stdin="correct horse battery\n",
        )  # fmt: skip
    noa = ("--business", "cafe", "--email", "noa@cafe.test")

    disabled = kesher.run("agent", "disable", *noa)
    listed = kesher.run("agent", "list", "--business", "cafe", "--json")
    enabled = kesher.run("agent", "enable", *noa)
    boss = kesher.run("agent", "disable", "--business", "cafe", "--email", "boss@cafe.test")
    unconfirmed = kesher.run("agent", "delete", *noa, stdin="n\n")
    deleted = kesher.run("agent", "delete", *noa, "--yes")
    after = kesher.run("agent", "list", "--business", "cafe", "--json")

    assert disabled.returncode == 0 and "disabled noa@cafe.test" in disabled.stdout
    assert {a["email"]: a["disabled"] for a in json.loads(listed.stdout)} == {
        "boss@cafe.test": False,
        "noa@cafe.test": True,
    }
    assert enabled.returncode == 0 and "enabled noa@cafe.test" in enabled.stdout
    assert boss.returncode == 1 and "at least one admin" in boss.stderr
    assert unconfirmed.returncode == 1
    assert deleted.returncode == 0 and "deleted noa@cafe.test" in deleted.stdout
    assert [a["email"] for a in json.loads(after.stdout)] == ["boss@cafe.test"]


def test_serve_on_a_taken_port_says_so_and_shows_no_key_the_next_start_still_can(
    kesher: Kesher,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = kesher.run("serve", "--port", str(port))

    assert refused.returncode == 1 and "cannot listen on 127.0.0.1" in refused.stderr
    assert "demo API key" not in refused.stdout + refused.stderr
    assert not (kesher.directory / "kesher.db").exists()
    server, _ = kesher.serve()
    assert demo_key(server).startswith("ksh_")


def test_help_shows_flags_the_conventional_way() -> None:
    runner = CliRunner()
    apply = runner.invoke(app, ["schedules", "apply", "--help"], env={"COLUMNS": "120"}).output
    create = runner.invoke(app, ["agent", "create", "--help"], env={"COLUMNS": "120"}).output

    assert "Usage: kesher schedules apply [OPTIONS] FILE" in apply.replace("root", "kesher")
    assert "{file}" not in apply and "<" not in apply + create
    assert "--password-stdin " in create and "[agent|admin]" in create
    assert "--business" in create and "TEXT" in create


def test_list_commands_and_an_admin_s_password_reset(kesher: Kesher) -> None:
    kesher.run("business", "create", "--slug", "cafe", "--name", "קפה נחת", "--sandbox")
    kesher.run(
        "agent", "create", "--business", "cafe", "--email", "noa@cafe.test", "--name", "Noa",
        "--password-stdin", stdin="correct horse battery\n",
    )  # fmt: skip
    (kesher.directory / "s.yaml").write_text(
        "schedules:\n  - {name: weekly, flow: checkin, when: {every: 7d}}\n", encoding="utf-8"
    )
    kesher.run("schedules", "apply", "s.yaml", "--business", "cafe")

    businesses = kesher.run("business", "list", "--json")
    agents = kesher.run("agent", "list", "--business", "cafe", "--json")
    schedules = kesher.run("schedules", "list", "--business", "cafe", "--json")
    reset = kesher.run(
        "agent", "password", "--business", "cafe", "--email", "noa@cafe.test",
        "--password-stdin", stdin="another long password\n",
    )  # fmt: skip
    unknown = kesher.run(
        "agent", "password", "--business", "cafe", "--email", "nobody@cafe.test",
        "--password-stdin", stdin="another long password\n",
    )  # fmt: skip
    key = kesher.run("business", "key", "--business", "cafe", "--json")
    old_name = kesher.run("business", "key", "--slug", "cafe", "--json")

    assert json.loads(businesses.stdout) == [{"slug": "cafe", "name": "קפה נחת", "sandbox": True}]
    assert [a["email"] for a in json.loads(agents.stdout)] == ["noa@cafe.test"]
    assert [(s["name"], s["flow"]) for s in json.loads(schedules.stdout)] == [("weekly", "checkin")]
    assert reset.returncode == 0 and "new password set for noa@cafe.test" in reset.stdout
    assert unknown.returncode == 1 and "no agent" in unknown.stderr
    assert json.loads(key.stdout)["slug"] == json.loads(old_name.stdout)["slug"] == "cafe"
    for ran in (businesses, agents, schedules, reset):
        assert "alembic" not in ran.stderr


def _healthy(kesher: Kesher, role: str) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + 30
    while True:
        checked = kesher.run("health", "--role", role)
        if checked.returncode == 0 or time.monotonic() > deadline:
            return checked
        time.sleep(0.5)


def test_worker_and_scheduler_answer_the_health_probe_by_their_heartbeat(
    kesher: Kesher, empty_postgres: str, redis_url: str, redis_client: object
) -> None:
    kesher.env.update(
        KESHER_DATABASE_URL=empty_postgres,
        KESHER_REDIS_URL=redis_url,
        KESHER_SECRET_KEY=TEST_SECRET_KEY,
        TMPDIR=str(kesher.directory),
    )
    assert kesher.run("db", "upgrade").returncode == 0
    assert kesher.run("health").returncode == 1  # nothing runs here yet
    worker = kesher.start("worker")
    kesher.start("scheduler")

    assert _healthy(kesher, "worker").returncode == 0
    assert _healthy(kesher, "scheduler").returncode == 0
    assert kesher.run("health", "--role", "serve").returncode == 1
    worker.stop()  # its heartbeat ages (a killed process cannot remove it)
    deadline = time.monotonic() + 30
    while (stopped := kesher.run("health", "--role", "worker", "--max-age", "8")).returncode == 0:
        assert time.monotonic() < deadline, stopped.stdout
        time.sleep(1)
    assert stopped.returncode == 1 and "unhealthy: worker" in stopped.stderr


def test_postgres_without_a_secret_key_refuses_to_start_and_to_migrate(
    empty_postgres: str, redis_url: str
) -> None:
    env = {
        "KESHER_DATABASE_URL": empty_postgres,
        "KESHER_REDIS_URL": redis_url,
        "KESHER_SECRET_KEY": None,
    }
    runner = CliRunner()
    migrate = runner.invoke(app, ["db", "upgrade"], env=env)
    worker = runner.invoke(app, ["worker"], env=env)

    assert migrate.exit_code == 2 and worker.exit_code == 1
    for refused in (migrate, worker):
        said = " ".join(refused.stderr.split())
        assert "KESHER_SECRET_KEY is not set" in said and "kesher secrets new-key" in said
        assert refused.exception is None or isinstance(refused.exception, SystemExit)


def test_secrets_rotate_on_sqlite_replaces_the_key_file_and_keeps_the_credentials(
    kesher: Kesher,
) -> None:
    url = f"sqlite+aiosqlite:///{kesher.directory}/k.db"
    kesher.env["KESHER_DATABASE_URL"] = url
    assert kesher.run("business", "create", "--slug", "shop", "--name", "Shop").returncode == 0
    asyncio.run(_connect_without_a_provider(url))
    key_file = kesher.directory / "k.db.key"
    old = key_file.read_text().strip()
    made = CliRunner().invoke(app, ["secrets", "new-key"])
    assert made.exit_code == 0 and CredentialCipher([made.stdout.strip()])

    rotated = kesher.run("secrets", "rotate")

    assert rotated.returncode == 0, rotated.stderr
    said = " ".join(rotated.stdout.split())
    assert "sealed 1 channel account(s)" in said and "now holds only the new key" in said
    new = key_file.read_text().strip()
    assert new != old and len(new.split()) == 1
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    sealed = asyncio.run(_stored_credentials(url))
    assert CredentialCipher([new]).open(sealed) == {"token": "42:" + "t" * 35}
    with pytest.raises(UnreadableCredentials):
        CredentialCipher([old]).open(sealed)


async def _connect_without_a_provider(url: str) -> None:
    """A Telegram account saved as connecting one would, sealed with the key file's key."""
    runtime = build(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    await runtime.start()
    try:
        async with runtime.services.uow() as uow:
            business = await uow.businesses.get_by_slug("shop")
            assert business is not None
            await uow.accounts.save(
                business.id,
                ChannelName.TELEGRAM,
                status=AccountStatus.CONNECTED,
                credentials={"token": "42:" + "t" * 35},
                settings={},
                last_error=None,
                at=runtime.services.clock.now(),
            )
            await uow.commit()
    finally:
        await runtime.stop()


async def _stored_credentials(url: str) -> dict[str, object]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        stored = await connection.scalar(text("SELECT credentials FROM channel_accounts"))
    await engine.dispose()
    return dict(json.loads(stored) if isinstance(stored, str) else stored)
