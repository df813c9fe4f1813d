"""Sustained load on Kesher's multi-process set (bench/cluster.py): the maximum throughput with
one and with two web processes, then minutes of steady load at a share of that maximum while
check-ins go out, with p99 and each process's memory minute by minute.

    .venv/bin/python -m bench.sustained --minutes 10 --share 0.8
    .venv/bin/python -m bench.sustained --minutes 1 --probe 600 --checkins 300   # a short try
    .venv/bin/python -m bench.sustained --minutes 8 --rate 60     # a given rate, no maximum

Maximum: `--probe` messages (Telegram updates and signed Twilio webhooks in turn, each from a
customer of its own) posted `--concurrency` at a time to the web ports in turn, with 1 and then
2 `kesher serve --no-worker` processes (2 workers, the scheduler); the rate is messages over the
time from the first POST to the last reply reaching the fake APIs, so a backlog left in the
task queue counts against it. The scaling ratio is the second rate over the first.

Steady load: on the set with 2 web processes, messages paced at `--share` of its maximum for
`--minutes`, retried as a provider retries (bench/reliability.py), while `--checkins` customers
of a weekly check-in (contact rules open at all hours) fall due spread over the run and go out
through the scheduler's minute tick. Per minute of first POSTs: messages, p99 from first POST
to reply, and the largest resident memory each Kesher process had in that minute (read from
/proc every 5 s). Then the counts: every message stored once and answered once, every check-in
customer asked once.

Flat means: every full minute's p99 under the sender's timeout (10 s; past it a webhook is
sent again and the load grows), the last one's within twice the median minute's (or a second
more), and no process's memory in it more than 25% above its second minute's (the first is
warm-up).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.checkin_scale import weekly_checkin_due
from bench.cluster import Cluster, Servers
from bench.harness import POSTGRES, REDIS, percentile, post_all, seed_customers, workdir
from bench.reliability import POST_TIMEOUT, Scenario, Webhook, load, replies, stored, webhooks
from bot.checkins import planning

FIRST_CHECKIN_CHAT = 900_000_000
SAMPLE_SECONDS = 5.0
SETTLE_SECONDS = 180.0
POST_TIMEOUT_MS = (POST_TIMEOUT.total or 0) * 1000


@dataclass(frozen=True)
class Options:
    minutes: float = 10.0
    share: float = 0.8
    probe: int = 2400
    concurrency: int = 32
    checkins: int = 3000
    keep_logs: bool = False
    rate: float | None = None
    postgres: str = POSTGRES
    redis: str = REDIS


@dataclass
class Minute:
    messages: int = 0
    p99_ms: float | None = None
    memory_mb: dict[str, float] = field(default_factory=dict)


@dataclass
class Steady:
    rate: float
    messages: int
    lost: int
    duplicated: int
    checkins: int
    checkins_asked_once: int
    checkins_twice: int
    minutes: list[Minute]

    @property
    def flat(self) -> bool:
        """The last full minute against the run (a last minute with the load's few stragglers
        says nothing)."""
        usual = statistics.median(m.messages for m in self.minutes)
        full = [m for m in self.minutes if m.messages >= usual / 2 and m.p99_ms is not None]
        if len(full) < 3:
            return False
        median = statistics.median(m.p99_ms or 0.0 for m in full)
        p99_flat = (full[-1].p99_ms or 0.0) <= max(2 * median, median + 1000) and all(
            (m.p99_ms or 0.0) < POST_TIMEOUT_MS for m in full
        )
        second, last = full[1].memory_mb, full[-1].memory_mb
        memory_flat = all(last.get(name, 0) <= 1.25 * mb for name, mb in second.items())
        return p99_flat and memory_flat


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB, 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def sample_memory(cluster: Cluster, samples: list[tuple[float, dict[str, float]]]) -> None:
    """Every SAMPLE_SECONDS, (time.time(), each Kesher process's RSS) until cancelled."""
    while True:
        named = {f"web {n + 1}": p.pid for n, p in enumerate(cluster.webs)}
        named |= {f"worker {n + 1}": p.pid for n, p in enumerate(cluster.workers)}
        samples.append((time.time(), {name: rss_mb(pid) for name, pid in named.items()}))
        await asyncio.sleep(SAMPLE_SECONDS)


async def maximum(directory: Path, webs: int, options: Options, run: int) -> float:
    """Messages a second, first POST to last reply, at `options.concurrency` in flight."""
    async with Cluster(
        directory, postgres=options.postgres, redis=options.redis, webs=webs
    ) as cluster:
        made = webhooks(cluster, run, options.probe)
        requests = [
            (cluster.bases[n % len(cluster.bases)] + w.path, w.body, w.headers)
            for n, w in enumerate(made)
        ]
        started, _, failures = await post_all(requests, concurrency=options.concurrency)
        addresses = {w.address for w in made}
        got = await _replies_to(cluster, addresses, expected=len(addresses))
        if failures:
            print(f"  {len(failures)} webhooks answered with an error, e.g. {failures[0]}")
        last = max((at for at, _ in got), default=time.time())
        rate = len({to for _, to in got}) / (last - min(started))
        print(f"maximum with {webs} web process(es): {rate:.1f} messages/s", flush=True)
        return rate


async def _replies_to(
    cluster: Cluster, addresses: set[str], *, expected: int
) -> list[tuple[float, str]]:
    """Replies to `addresses` once `expected` of them have one, or none came for a while."""
    seen, since = -1, time.monotonic()
    while True:
        got = [(at, to) for at, to in await replies(cluster) if to in addresses]
        answered = len({to for _, to in got})
        if answered >= expected or time.monotonic() - since > SETTLE_SECONDS:
            return got
        if len(got) != seen:
            seen, since = len(got), time.monotonic()
        await asyncio.sleep(0.5)


async def plan_checkins(cluster: Cluster, count: int, seconds: float) -> set[str]:
    """`count` customers on Telegram with a weekly check-in, due spread over `seconds`."""
    deployment = cluster.deployment
    runtime = deployment.runtime
    assert runtime is not None
    services = runtime.services
    await seed_customers(
        runtime.engine,
        deployment.business_id,
        count,
        channel="telegram",
        first_address=FIRST_CHECKIN_CHAT,
    )
    async with services.uow() as uow:
        business = await uow.businesses.get(deployment.business_id)
    await weekly_checkin_due(runtime, business)
    await planning.plan(services, now=services.clock.now())
    await deployment.execute(
        "UPDATE checkins SET send_at = now() + random() * make_interval(secs => :s)",
        s=seconds,
    )
    return {str(FIRST_CHECKIN_CHAT + n) for n in range(count)}


def per_minute(
    made: Sequence[Webhook],
    first_reply: dict[str, float],
    samples: Sequence[tuple[float, dict[str, float]]],
    began: float,
) -> list[Minute]:
    minutes: dict[int, Minute] = {}
    latencies: dict[int, list[float]] = {}
    for webhook in made:
        index = int((webhook.first_post - began) // 60)
        minute = minutes.setdefault(index, Minute())
        minute.messages += 1
        if webhook.address in first_reply:
            latencies.setdefault(index, []).append(
                first_reply[webhook.address] - webhook.first_post
            )
    for index, values in latencies.items():
        minutes[index].p99_ms = percentile(values, 0.99) * 1000
    for at, memory in samples:
        minute = minutes.get(int((at - began) // 60))
        if minute is not None:
            for name, mb in memory.items():
                minute.memory_mb[name] = max(minute.memory_mb.get(name, 0.0), mb)
    return [minutes[i] for i in sorted(minutes)]


async def steady(directory: Path, rate: float, options: Options) -> Steady:
    seconds = options.minutes * 60
    async with Cluster(
        directory, postgres=options.postgres, redis=options.redis, webs=2
    ) as cluster:
        checkin_chats = await plan_checkins(cluster, options.checkins, seconds)
        made = webhooks(cluster, 9, int(rate * seconds))
        addresses = {w.address for w in made}
        samples: list[tuple[float, dict[str, float]]] = []
        sampler = asyncio.create_task(sample_memory(cluster, samples))
        began = time.time()
        await load(
            cluster, Servers(options.postgres, options.redis), made, Scenario("steady"), rate
        )
        got = await _replies_to(cluster, addresses, expected=len(addresses))
        asked = await _replies_to(cluster, checkin_chats, expected=len(checkin_chats))
        sampler.cancel()
        kept = await stored(cluster, sorted(addresses))
        replied = Counter(to for _, to in got)
        first_reply: dict[str, float] = {}
        for at, to in sorted(got):
            first_reply.setdefault(to, at)
        checkin_counts = Counter(to for _, to in asked)
        return Steady(
            rate=rate,
            messages=len(made),
            lost=sum(1 for a in addresses if kept[a] == 0 or replied[a] == 0),
            duplicated=sum(max(kept[a] - 1, 0) + max(replied[a] - 1, 0) for a in addresses),
            checkins=len(checkin_chats),
            checkins_asked_once=sum(1 for c in checkin_chats if checkin_counts[c] == 1),
            checkins_twice=sum(1 for c in checkin_chats if checkin_counts[c] > 1),
            minutes=per_minute(made, first_reply, samples, began),
        )


def report(maxima: tuple[float, float] | None, result: Steady) -> str:
    names = sorted({name for m in result.minutes for name in m.memory_mb})
    lines = []
    if maxima is not None:
        one, two = maxima
        lines += [
            f"maximum: 1 web process {one:.1f} messages/s, 2 web processes {two:.1f} messages/s,"
            f" scaling ratio {two / one:.2f}",
            "",
        ]
    lines += [
        f"steady load at {result.rate:.1f} messages/s with {result.checkins} check-ins due:",
        "",
        "| minute | messages | p99 | " + " | ".join(f"{n} MB" for n in names) + " |",
        "|---" * (3 + len(names)) + "|",
    ]
    for number, minute in enumerate(result.minutes, start=1):
        p99 = f"{minute.p99_ms:,.0f} ms" if minute.p99_ms is not None else "—"
        memory = " | ".join(f"{minute.memory_mb.get(n, 0):.0f}" for n in names)
        lines.append(f"| {number} | {minute.messages:,} | {p99} | {memory} |")
    lines += [
        "",
        f"messages {result.messages:,}: lost {result.lost}, duplicated {result.duplicated};"
        f" check-in customers {result.checkins:,}: asked once {result.checkins_asked_once:,},"
        f" twice {result.checkins_twice}; p99 and memory flat: {'yes' if result.flat else 'NO'}",
    ]
    return "\n".join(lines)


async def run(options: Options) -> str:
    with workdir(options.keep_logs) as directory:
        for part in ("one", "two", "steady"):
            (directory / part).mkdir()
        if options.rate is not None:
            print(f"steady load at {options.rate:.1f} messages/s for {options.minutes:g} min")
            return report(None, await steady(directory / "steady", options.rate, options))
        one = await maximum(directory / "one", 1, options, 1)
        two = await maximum(directory / "two", 2, options, 2)
        rate = options.share * two
        print(f"steady load at {rate:.1f} messages/s for {options.minutes:g} min", flush=True)
        result = await steady(directory / "steady", rate, options)
    return report((one, two), result)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=Options.minutes)
    parser.add_argument("--share", type=float, default=Options.share, help="of the maximum")
    parser.add_argument("--probe", type=int, default=Options.probe, help="messages per maximum")
    parser.add_argument("--concurrency", type=int, default=Options.concurrency)
    parser.add_argument("--checkins", type=int, default=Options.checkins)
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument(
        "--rate", type=float, help="hold this many messages/s; skips the maximum and --share"
    )
    args = parser.parse_args()
    options = Options(
        minutes=args.minutes,
        share=args.share,
        probe=args.probe,
        concurrency=args.concurrency,
        checkins=args.checkins,
        keep_logs=args.keep_logs,
        rate=args.rate,
    )
    print("\n" + asyncio.run(run(options)))


if __name__ == "__main__":
    main()
