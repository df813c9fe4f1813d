"""The reliability suite: Kesher's multi-process set (bench/cluster.py: two web processes, two
workers, the scheduler, PostgreSQL and Redis of its own) under a steady load of Telegram and
WhatsApp webhooks while one part of it fails, then a count per customer of what was stored and
what was replied.

    .venv/bin/python -m bench.reliability [--quick] [--messages N] [--rate R] [--repeat K]

Load: N messages per scenario, each from a customer of its own, Telegram updates and signed
Twilio webhooks in turn, paced at R a second and sent to the two web ports in turn. Like a
provider, the sender tries again (on the other port, backing off up to 5 s) after a 5xx, a 429,
a refused connection or no answer in 10 s, for up to 3 minutes. The fault comes when a third of
the messages have been sent (the provider's failures from the start), and the load goes on
through it. Then the suite waits until every
customer has a reply (and a little longer, for late duplicates) or none came for a while.

Per customer: lost when the message was not stored or no reply reached the fake provider API,
duplicated when either happened more than once (and by channel: a WhatsApp reply an earlier,
killed attempt left at Twilio is looked up, a Telegram one cannot be); p99 from a message's first
POST to its reply. `--repeat K` runs each scenario K times (up to 9), for a rate of rare events
such as a kill landing between the provider's answer and the commit.

The scheduler's minute tick requeues what is due (failed sends after their backoff, replies
whose queueing was lost) and, five minutes after a worker died, what it held. `--quick` (CI)
runs that sweep from the suite every 2 s instead of waiting for the minute; in every mode the
worker scenario runs the sweep the tick would run five minutes after the kill once the load is
over, rather than waiting those minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

from bench.cluster import LLM_TIMEOUT_SECONDS, Cluster, Servers, servers
from bench.harness import SLUG, TEXTS, percentile, workdir
from bot.outbound.outbox import STALE_AFTER, sweep
from flows.frustration import Sensitivity
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER

GIVE_UP_SECONDS = 180.0
POST_TIMEOUT = aiohttp.ClientTimeout(total=10)
FAULT_AT = 1 / 3
FAULTY_SHARE = 0.2
# Past the scheduler's next tick and a failed send's first backoffs.
QUIET_SECONDS = 150.0
QUICK_QUIET_SECONDS = 40.0
QUICK_SWEEP_SECONDS = 2.0
# How long the suite still listens for duplicates once every customer has a reply.
GRACE_SECONDS = 5.0
# The slow language model answers this late, past the cluster's LLM timeout.
SLOW_LLM_SECONDS = 5.0
# Messages the offline detector is unsure of, so each is asked of the language model.
UNSURE_TEXTS = ("לא מרוצה מהשירות", "למה אתם סגורים בשישי?")
REVIEW_WAIT_SECONDS = 30.0


class ShiftedClock:
    """Real time, moved on by `ahead` while the suite runs a tick from the future."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@dataclass
class Webhook:
    """One inbound message as a provider delivers it, and what became of its delivery."""

    address: str
    path: str
    body: bytes
    headers: dict[str, str]
    first_post: float = 0.0
    attempts: int = 0
    answered_5xx: int = 0
    error: str | None = None


@dataclass
class Outcome:
    scenario: str
    messages: int
    lost: int
    duplicated: int
    p99_ms: float | None
    retried: int
    answered_5xx: int
    faulted: int
    seconds: float
    # Replies sent twice because a worker died between the provider's answer and recording it:
    # the first copy came before the kill, the second after the sweep that gave the row back.
    resent_after_kill: int = 0
    # Duplicated replies by channel ("telegram", "whatsapp").
    twice_by_channel: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    # What else the scenario promised and did not keep (e.g. a late model's opinion applied).
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not self.problems

    @property
    def result(self) -> str:
        """pass; at-least-once (nothing lost, the only duplicates the resends the outbox trades
        for never losing a reply: docs/architecture.md, "Nothing lost, nothing twice"); or
        FAIL."""
        if self.passed:
            return "pass"
        if self.lost == 0 and self.duplicated == self.resent_after_kill and not self.problems:
            return "at-least-once"
        return "FAIL"


Fault = Callable[[Cluster, Servers], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault | None = None
    # The fault starts with the load instead of a third of the way in.
    from_start: bool = False
    # After the load, the tick that comes five minutes after a worker died.
    late_sweep: bool = False
    # What the customers write; texts the detector is unsure of go to the language model too.
    texts: tuple[str, ...] = TEXTS
    # The language model is slow: count that it was asked and that its late opinions were not
    # applied.
    slow_model: bool = False


@dataclass(frozen=True)
class Options:
    messages: int = 600
    rate: float = 10.0
    quick: bool = False
    keep_logs: bool = False
    # Only the scenarios whose name holds this.
    only: str = ""
    # Each scenario this many times (customers kept apart by the run's number).
    repeat: int = 1


async def _kill_worker(cluster: Cluster, _: Servers) -> None:
    await cluster.kill_worker(0, down_seconds=1.0)


async def _kill_web(cluster: Cluster, _: Servers) -> None:
    await cluster.kill_web(0, down_seconds=1.0)


async def _provider_fails(cluster: Cluster, _: Servers) -> None:
    await cluster.telegram.fail(FAULTY_SHARE)
    await cluster.twilio.fail(FAULTY_SHARE)


async def _slow_llm(cluster: Cluster, _: Servers) -> None:
    await cluster.ollama.delay(SLOW_LLM_SECONDS)


async def _restart_redis(_: Cluster, found: Servers) -> None:
    assert found.private_redis is not None
    found.private_redis.kill()
    await asyncio.sleep(2.0)
    await found.private_redis.start()


async def _restart_postgres(_: Cluster, found: Servers) -> None:
    assert found.pg is not None
    await asyncio.to_thread(found.pg.stop, "immediate")
    await asyncio.sleep(3.0)
    await asyncio.to_thread(found.pg.start)


def scenarios(found: Servers) -> list[Scenario]:
    """Every scenario the machine allows: the restarts only on servers of the suite's own."""
    chosen = [
        Scenario("baseline"),
        Scenario("worker killed (SIGKILL) mid-load", _kill_worker, late_sweep=True),
        Scenario("web process killed (SIGKILL) mid-load", _kill_web),
        Scenario(
            "provider API: 20% of sends 429 / 500 / timeout", _provider_fails, from_start=True
        ),
        Scenario(
            f"language model answering after {SLOW_LLM_SECONDS:.0f} s (timeout"
            f" {LLM_TIMEOUT_SECONDS:.0f} s)",
            _slow_llm,
            from_start=True,
            texts=UNSURE_TEXTS,
            slow_model=True,
        ),
    ]
    if found.private_redis is not None:
        chosen.append(Scenario("Redis killed and restarted empty", _restart_redis))
    if found.pg is not None:
        chosen.append(Scenario("PostgreSQL crashed and restarted", _restart_postgres))
    return chosen


def webhooks(cluster: Cluster, run: int, count: int, texts: Sequence[str] = TEXTS) -> list[Webhook]:
    """`count` messages from as many customers, Telegram and WhatsApp in turn; `run` keeps each
    scenario's customers apart."""
    validator = RequestValidator(AUTH_TOKEN)
    whatsapp_path = f"/webhooks/whatsapp/{SLUG}"
    public = cluster.deployment.base + whatsapp_path
    now = int(time.time())
    made = []
    for n in range(count):
        words = f"{texts[(n // 2) % len(texts)]} ({run}.{n})"
        if n % 2 == 0:
            chat = 600_000_000 + run * 1_000_000 + n
            person = {"id": chat, "is_bot": False, "first_name": f"Customer {n}"}
            update = {
                "update_id": run * 1_000_000 + n + 1,
                "message": {
                    "message_id": 1,
                    "from": person,
                    "chat": {"id": chat, "type": "private", "first_name": f"Customer {n}"},
                    "date": now,
                    "text": words,
                },
            }
            headers = {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": cluster.telegram_secret,
            }
            body = json.dumps(update, ensure_ascii=False).encode()
            made.append(Webhook(str(chat), f"/webhooks/telegram/{SLUG}", body, headers))
        else:
            phone = f"+9725{run}{n:07d}"
            sid = f"SM{run:02d}{n:030x}"
            params = {
                "MessageSid": sid,
                "SmsMessageSid": sid,
                "AccountSid": ACCOUNT_SID,
                "From": f"whatsapp:{phone}",
                "To": SENDER,
                "Body": words,
                "NumMedia": "0",
                "ProfileName": f"Customer {n}",
                "WaId": phone[1:],
            }
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": validator.compute_signature(public, params),
            }
            made.append(
                Webhook(f"whatsapp:{phone}", whatsapp_path, urlencode(params).encode(), headers)
            )
    return made


async def deliver(
    session: aiohttp.ClientSession, webhook: Webhook, bases: Sequence[str], first: int
) -> None:
    """POST until answered 200, as a provider retries: the next port each time, backing off."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    webhook.first_post = time.time()
    while True:
        base = bases[(first + webhook.attempts) % len(bases)]
        webhook.attempts += 1
        try:
            async with session.post(
                base + webhook.path, data=webhook.body, headers=webhook.headers
            ) as response:
                await response.read()
                if response.status == 200:
                    return
                if response.status >= 500:
                    webhook.answered_5xx += 1
                if response.status < 500 and response.status != 429:
                    webhook.error = f"{response.status} {(await response.text())[:200]}"
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            webhook.error = f"no 200 after {webhook.attempts} attempts"
            return
        await asyncio.sleep(min(0.25 * 2 ** (webhook.attempts - 1), 5.0))


async def load(
    cluster: Cluster, found: Servers, made: Sequence[Webhook], scenario: Scenario, rate: float
) -> float:
    """Send everything at `rate` a second with the fault at its moment; when the fault came
    (time.time())."""
    fault_index = 0 if scenario.from_start else int(len(made) * FAULT_AT)
    fault: asyncio.Task[None] | None = None
    fault_at = time.time()
    start = time.monotonic()
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector, timeout=POST_TIMEOUT) as session:
        sending: list[asyncio.Task[None]] = []
        for index, webhook in enumerate(made):
            if index == fault_index and scenario.fault is not None:
                fault_at = time.time()
                fault = asyncio.create_task(scenario.fault(cluster, found))
            await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
            sending.append(asyncio.create_task(deliver(session, webhook, cluster.bases, index)))
        await asyncio.gather(*sending)
    if fault is not None:
        await fault
    return fault_at


async def stored(cluster: Cluster, addresses: Sequence[str]) -> Counter[str]:
    """Inbound messages kept per customer address."""
    deployment = cluster.deployment
    rows = await deployment.rows(
        "SELECT i.address, count(m.id) FROM channel_identities i"
        " JOIN conversations v ON v.identity_id = i.id"
        " JOIN messages m ON m.conversation_id = v.id AND m.direction = 'in'"
        " WHERE i.business_id = :b AND i.address = ANY(:addresses) GROUP BY i.address",
        b=deployment.business_id,
        addresses=list(addresses),
    )
    return Counter({str(address): int(count) for address, count in rows})


async def reviews(
    cluster: Cluster, addresses: Sequence[str], asked_before: int
) -> tuple[str, list[str]]:
    """The second opinions while the model was slow, and what went wrong with them: each
    message the detector was unsure of is asked of the model once, and an opinion that comes
    after the timeout is never applied (the offline verdict stands)."""
    low, high = Sensitivity.BALANCED.uncertain_band
    deployment = cluster.deployment
    inbound = (
        " FROM messages m JOIN conversations v ON v.id = m.conversation_id"
        " JOIN channel_identities i ON i.id = v.identity_id"
        " WHERE i.business_id = :b AND i.address = ANY(:addresses) AND m.direction = 'in'"
    )
    where = {"b": deployment.business_id, "addresses": list(addresses)}
    unsure = await deployment.scalar(
        f"SELECT count(*) {inbound} AND m.frustration >= :low AND m.frustration < :high",
        low=low,
        high=high,
        **where,
    )
    deadline = time.monotonic() + REVIEW_WAIT_SECONDS
    while True:
        asked = (await cluster.ollama.counts())["asked"] - asked_before
        if asked >= unsure or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    applied = await deployment.scalar(
        f"SELECT count(*) {inbound} AND CAST(m.frustration_reasons AS text)"
        " LIKE '%second opinion%'",
        **where,
    )
    problems = []
    if not unsure:
        problems.append("no message was unsure enough to ask the language model")
    if asked != unsure:
        problems.append(f"the language model was asked {asked} times for {unsure} unsure messages")
    if applied:
        problems.append(f"{applied} messages lost their offline verdict to a late opinion")
    seen = f"{unsure} unsure messages, {asked} asked of the model, {applied} late opinions applied"
    return seen, problems


async def replies(cluster: Cluster) -> list[tuple[float, str]]:
    """(when, to) of every message the fake APIs accepted."""
    telegram, _ = await cluster.telegram.calls()
    twilio, _ = await cluster.twilio.calls()
    return [*telegram, *twilio]


async def tick(cluster: Cluster, clock: ShiftedClock, *, at: float | None = None) -> None:
    """The scheduler's sweep, now or as it would run at `at` (time.time()); a sweep while a
    server is down fails, as the scheduler's would, and the next one tries again."""
    assert cluster.deployment.runtime is not None
    if at is not None:
        clock.ahead = datetime.fromtimestamp(at, UTC) - datetime.now(UTC)
    try:
        with contextlib.suppress(Exception):
            await sweep(cluster.deployment.runtime.services)
    finally:
        clock.ahead = timedelta(0)


async def settle(
    cluster: Cluster,
    clock: ShiftedClock,
    addresses: set[str],
    *,
    quick: bool,
    killed_at: float | None,
) -> tuple[list[tuple[float, str]], float | None]:
    """Wait for a reply to every address (then GRACE_SECONDS more), or until none came for a
    while; the replies, and when the late sweep ran (time.time()) if it did."""
    quiet = QUICK_QUIET_SECONDS if quick else QUIET_SECONDS
    seen, since, swept = -1, time.monotonic(), time.monotonic()
    late_sweep_due = killed_at is not None
    late_swept_at: float | None = None
    complete_at: float | None = None
    while True:
        got = [(at, to) for at, to in await replies(cluster) if to in addresses]
        answered = {to for _, to in got}
        now = time.monotonic()
        if len(got) != seen:
            seen, since = len(got), now
        if late_sweep_due and (answered >= addresses or now - since > GRACE_SECONDS):
            assert killed_at is not None
            late_swept_at = time.time()
            await tick(cluster, clock, at=killed_at + STALE_AFTER.total_seconds())
            late_sweep_due, since = False, now
        elif answered >= addresses:
            complete_at = complete_at or now
            if now - complete_at > GRACE_SECONDS:
                return got, late_swept_at
        elif now - since > quiet:
            return got, late_swept_at
        if quick and now - swept > QUICK_SWEEP_SECONDS:
            await tick(cluster, clock)
            swept = now
        await asyncio.sleep(0.25)


async def run_scenario(
    cluster: Cluster,
    found: Servers,
    clock: ShiftedClock,
    scenario: Scenario,
    run: int,
    options: Options,
) -> Outcome:
    made = webhooks(cluster, run, options.messages, scenario.texts)
    addresses = {webhook.address for webhook in made}
    faulted_before = await cluster.telegram.faulted() + await cluster.twilio.faulted()
    asked_before = (await cluster.ollama.counts())["asked"]
    began = time.monotonic()
    fault_at = await load(cluster, found, made, scenario, options.rate)
    got, late_swept_at = await settle(
        cluster,
        clock,
        addresses,
        quick=options.quick,
        killed_at=fault_at if scenario.late_sweep else None,
    )
    await cluster.telegram.fail(0)
    await cluster.twilio.fail(0)
    notes: list[str] = []
    problems: list[str] = []
    if scenario.slow_model:
        seen, problems = await reviews(cluster, sorted(addresses), asked_before)
        notes.append(seen)
    await cluster.ollama.delay(0)
    faulted_after = await cluster.telegram.faulted() + await cluster.twilio.faulted()
    kept = await stored(cluster, sorted(addresses))
    replied = Counter(to for _, to in got)
    first_reply: dict[str, float] = {}
    times: dict[str, list[float]] = {}
    for at, to in sorted(got):
        first_reply.setdefault(to, at)
        times.setdefault(to, []).append(at)
    latencies = [first_reply[w.address] - w.first_post for w in made if w.address in first_reply]
    missing = sorted(a for a in addresses if kept[a] == 0 or replied[a] == 0)
    twice = sorted(a for a in addresses if kept[a] > 1 or replied[a] > 1)
    notes += [f"{w.address}: {w.error}" for w in made if w.error][:5]
    notes += [f"lost {a}: stored {kept[a]}, replied {replied[a]}" for a in missing[:5]]
    notes += [
        f"twice {a}: stored {kept[a]}, replied {replied[a]}, at"
        f" {', '.join(f'{at - fault_at:+.1f} s' for at in times.get(a, []))} from the fault"
        for a in twice[:5]
    ]
    resent = [
        a
        for a in twice
        if late_swept_at is not None
        and kept[a] == 1
        and replied[a] == 2
        and times[a][0] < fault_at + 0.5
        and times[a][1] >= late_swept_at
    ]
    return Outcome(
        scenario=scenario.name,
        messages=len(made),
        lost=len(missing),
        duplicated=sum(max(kept[a] - 1, 0) + max(replied[a] - 1, 0) for a in addresses),
        p99_ms=percentile(latencies, 0.99) * 1000 if latencies else None,
        retried=sum(w.attempts - 1 for w in made),
        answered_5xx=sum(w.answered_5xx for w in made),
        faulted=faulted_after - faulted_before,
        seconds=time.monotonic() - began,
        resent_after_kill=len(resent),
        twice_by_channel=Counter(
            "whatsapp" if a.startswith("whatsapp:") else "telegram"
            for a in addresses
            for _ in range(max(replied[a] - 1, 0))
        ),
        notes=notes,
        problems=problems,
    )


async def run(options: Options) -> list[Outcome]:
    outcomes: list[Outcome] = []
    clock = ShiftedClock()
    with workdir(options.keep_logs) as directory:
        async with (
            servers(directory, private=True) as found,
            Cluster(directory, postgres=found.postgres, redis=found.redis, clock=clock) as cluster,
        ):
            print(HEADER, flush=True)
            for number, scenario in enumerate(scenarios(found), start=1):
                if options.only not in scenario.name:
                    continue
                for again in range(options.repeat):
                    run_number = number + 10 * again
                    outcomes.append(
                        await run_scenario(cluster, found, clock, scenario, run_number, options)
                    )
                    print(row(outcomes[-1]), flush=True)
    return outcomes


HEADER = "| scenario | messages | lost | duplicated | p99 | result |\n|---|---|---|---|---|---|"


def row(o: Outcome) -> str:
    p99 = f"{o.p99_ms:,.0f} ms" if o.p99_ms is not None else "—"
    return f"| {o.scenario} | {o.messages:,} | {o.lost} | {o.duplicated} | {p99} | {o.result} |"


def table(outcomes: Sequence[Outcome]) -> str:
    return "\n".join([HEADER, *(row(o) for o in outcomes)])


def report(outcomes: Sequence[Outcome]) -> str:
    lines = [table(outcomes), ""]
    for o in outcomes:
        lines.append(
            f"{o.scenario}: {o.seconds:.0f} s, {o.retried} webhook retries ({o.answered_5xx} after"
            f" a 5xx), {o.faulted} provider calls failed on purpose, {o.resent_after_kill} replies"
            " resent after the kill; replies twice by channel:"
            f" {dict(o.twice_by_channel) or 'none'}"
        )
        lines += [f"  {note}" for note in [*o.problems, *o.notes]]
    lines.append(f"load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few messages, sweep every 2 s (CI)")
    parser.add_argument("--messages", type=int, help="per scenario (default 600, quick 40)")
    parser.add_argument("--rate", type=float, default=Options.rate, help="messages a second")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--only", default="", help="only scenarios whose name holds this")
    parser.add_argument(
        "--repeat", type=int, choices=range(1, 10), default=1, help="run each scenario K times"
    )
    args = parser.parse_args()
    options = Options(
        messages=args.messages or (40 if args.quick else Options.messages),
        rate=args.rate,
        quick=args.quick,
        keep_logs=args.keep_logs,
        only=args.only,
        repeat=args.repeat,
    )
    outcomes = asyncio.run(run(options))
    print("\n" + report(outcomes))
    raise SystemExit(0 if all(o.result != "FAIL" for o in outcomes) else 1)


if __name__ == "__main__":
    main()
