"""Telegram benchmark: updates in through the webhook, replies out through a fake Bot API.

Inbound: N updates from N chats POSTed to Kesher's webhook over real HTTP on loopback, C at a
time; Kesher (`kesher serve --no-worker` and one `kesher worker` on PostgreSQL and Redis) runs
the whole pipeline and its worker replies through the fake Bot API. Reported: updates/s and
p99 from an update's first POST to its reply reaching the fake. The same updates then go to a
minimal python-telegram-bot echo bot (`Application` without an updater, same fake Bot API), for
the ratio. Kesher's per-bot limit is raised to 1,000/s for this part (KESHER_TELEGRAM_BOT_RATE,
Telegram's ceiling with paid broadcasts), so the pipeline is measured rather than the limit.

With `--history H`, the business first has H customers who talked before (on the sandbox, a
conversation 20 days old each, every table analyzed), as a business in its steady state
does; without it every table starts empty, as on a deployment's first day.

Outbound: M replies to M chats already in the outbox, sent by K workers through a fake Bot API
that refuses (429) anything over 30/s per bot and 1/s per chat, both scaled by S; Kesher's
per-bot limit is set to the same 30 × S. Reported: the rate achieved against the limit, and
the 429s.

    .venv/bin/python -m bench.telegram_load --updates 2000 --concurrency 32
    .venv/bin/python -m bench.telegram_load --only inbound --updates 3000 --history 100000
    .venv/bin/python -m bench.telegram_load --messages 10000 --workers 1,3 --scale 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass

from bench.channel_servers import WEBHOOK_SECRET
from bench.harness import (
    POSTGRES,
    REDIS,
    TEXTS,
    Deployment,
    FakeApi,
    Result,
    free_port,
    inbound_result,
    outbound_result,
    post_all,
    seed_customers,
    seed_history,
    summary,
    wait_until_up,
    workdir,
    workers_list,
)
from tests.fakes.telegram_api import TOKEN

FIRST_CHAT = 500_000_000


@dataclass(frozen=True)
class Options:
    updates: int = 2000
    concurrency: int = 32
    history: int = 0
    messages: int = 10_000
    workers: tuple[int, ...] = (1, 3)
    scale: int = 2
    inbound: bool = True
    outbound: bool = True
    keep_logs: bool = False
    postgres: str = POSTGRES
    redis: str = REDIS


def updates(count: int) -> list[tuple[int, bytes]]:
    """(chat, body) of `count` text messages, each from its own private chat."""
    now = int(time.time())
    made = []
    for n in range(count):
        chat = FIRST_CHAT + n
        person = {"id": chat, "is_bot": False, "first_name": f"Customer {n}", "language_code": "he"}
        body = {
            "update_id": n + 1,
            "message": {
                "message_id": 1,
                "from": person,
                "chat": {"id": chat, "type": "private", "first_name": f"Customer {n}"},
                "date": now,
                "text": f"{TEXTS[n % len(TEXTS)]} ({n})",
            },
        }
        made.append((chat, json.dumps(body, ensure_ascii=False).encode()))
    return made


async def inbound(deployment: Deployment, options: Options) -> list[Result]:
    made = updates(options.updates)
    chats = [str(chat) for chat, _ in made]
    processes = deployment.processes
    if options.history:
        await seed_customers(deployment.engine, deployment.business_id, options.history)
        await seed_history(deployment.engine, deployment.business_id)
    # The echo bot and its own fake Bot API start now, and idle while Kesher is measured.
    kesher_api, echo_api = FakeApi(processes, "fake-telegram"), FakeApi(processes, "fake-telegram")
    async with kesher_api, echo_api:
        echo_port = free_port()
        echo = processes.start(
            "echo-bot",
            *(sys.executable, "-m", "bench.channel_servers", "echo-bot"),
            *("--port", str(echo_port), "--api", echo_api.url),
        )
        deployment.kesher(
            "telegram", "connect", "--business", "bench", "--token", TOKEN,
            env={"KESHER_TELEGRAM_API_URL": kesher_api.url},
        )  # fmt: skip
        secret = await deployment.telegram_secret()
        env = {"KESHER_TELEGRAM_API_URL": kesher_api.url, "KESHER_TELEGRAM_BOT_RATE": "1000"}
        kesher = await deployment.serve(1, env)
        url = f"{deployment.base}/webhooks/telegram/bench"
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
        started, _, failures = await post_all(
            [(url, body, headers) for _, body in made], concurrency=options.concurrency
        )
        await kesher_api.wait_for(len(made))
        replies, refused = await kesher_api.calls()
        ours = inbound_result(
            f"Kesher inbound, {options.concurrency} at a time, 1 worker",
            started=started,
            addresses=chats,
            replies=replies,
            limited=len(refused),
        )
        if failures:
            print(f"Kesher answered {len(failures)} updates with an error, e.g. {failures[0]}")
        for process in kesher:
            processes.stop(process)

        await wait_until_up(f"http://127.0.0.1:{echo_port}/", echo, processes.logs)
        url = f"http://127.0.0.1:{echo_port}/telegram"
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
        }
        started, _, failures = await post_all(
            [(url, body, headers) for _, body in made], concurrency=options.concurrency
        )
        await echo_api.wait_for(len(made))
        replies, refused = await echo_api.calls()
        theirs = inbound_result(
            f"python-telegram-bot echo bot, {options.concurrency} at a time",
            started=started,
            addresses=chats,
            replies=replies,
            limited=len(refused),
        )
        processes.stop(echo)
    return [ours, theirs]


async def outbound(deployment: Deployment, options: Options, workers: int, run: int) -> Result:
    bot_rate, chat_rate = 30 * options.scale, options.scale
    first = FIRST_CHAT + 100_000_000 * (run + 1)
    ids = await deployment.seed_outbound(
        "telegram", f"({first} + g)::text", options.messages, tag=f"tg{run}"
    )
    addresses = {str(first + g) for g in range(1, options.messages + 1)}
    await deployment.enqueue_sends(ids)
    limits = ("--bot-rate", str(bot_rate), "--chat-rate", str(chat_rate))
    async with FakeApi(deployment.processes, "fake-telegram", *limits) as fake:
        env = {"KESHER_TELEGRAM_API_URL": fake.url, "KESHER_TELEGRAM_BOT_RATE": str(bot_rate)}
        started = await deployment.workers(workers, env, ready=False)
        await fake.wait_for(len(ids))
        sent, refused = await fake.calls()
        for process in started:
            deployment.processes.stop(process)
    return outbound_result(
        f"Kesher outbound, limit {bot_rate}/s (30/s × {options.scale}),"
        f" {workers} worker{'s' if workers > 1 else ''}",
        addresses=addresses,
        sent=sent,
        refused=refused,
    )


async def run(options: Options) -> list[Result]:
    results: list[Result] = []
    with workdir(options.keep_logs) as directory:
        async with Deployment(
            directory, postgres=options.postgres, redis=options.redis
        ) as deployment:
            if options.inbound:
                results += await inbound(deployment, options)
            if options.outbound:
                if not options.inbound:
                    async with FakeApi(deployment.processes, "fake-telegram") as fake:
                        deployment.kesher(
                            "telegram", "connect", "--business", "bench", "--token", TOKEN,
                            env={"KESHER_TELEGRAM_API_URL": fake.url},
                        )  # fmt: skip
                for run_number, workers in enumerate(options.workers):
                    results.append(await outbound(deployment, options, workers, run_number))
    return results


def report(results: list[Result], options: Options) -> str:
    return summary(
        results,
        baseline="python-telegram-bot echo bot",
        called="echo bot",
        limit=30 * options.scale,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=Options.updates, help="inbound updates")
    parser.add_argument("--concurrency", type=int, default=Options.concurrency)
    parser.add_argument(
        "--history",
        type=int,
        default=Options.history,
        help="customers who talked before, seeded first",
    )
    parser.add_argument("--messages", type=int, default=Options.messages, help="outbound messages")
    parser.add_argument("--workers", default="1,3", help="worker processes per outbound run")
    parser.add_argument("--scale", type=int, default=Options.scale, help="× Telegram's limits")
    parser.add_argument("--only", choices=["inbound", "outbound"])
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    options = Options(
        updates=args.updates,
        concurrency=args.concurrency,
        history=args.history,
        messages=args.messages,
        workers=tuple(workers_list(args.workers)),
        scale=args.scale,
        inbound=args.only != "outbound",
        outbound=args.only != "inbound",
        keep_logs=args.keep_logs,
    )
    print(report(asyncio.run(run(options)), options))


if __name__ == "__main__":
    main()
