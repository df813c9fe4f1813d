"""WhatsApp benchmark: signed Twilio webhooks in, replies out through a fake Twilio API.

Inbound: N signed incoming-message webhooks from N customers POSTed to Kesher over real HTTP
on loopback, C at a time; Kesher (`kesher serve --no-worker` and one `kesher worker` on
PostgreSQL and Redis) runs the whole pipeline and replies through the fake Twilio Messages
API. Reported: messages/s and p99 from a webhook's first POST to its reply reaching the fake,
and the ratio to a bare FastAPI endpoint that only checks the signature and answers empty
TwiML (its p99 is to its answer). The sender's MPS is set to 400, Twilio's highest, so the
pipeline is measured rather than the limit.

Outbound: M replies to M customers (inside the 24-hour window) already in the outbox, sent by
K workers through a fake Twilio API that refuses (429, error 20429) messages over the sender's
MPS; the business's MPS is set to the same (`kesher whatsapp connect --mps`). Reported: the
rate achieved against the limit, and the 429s.

    .venv/bin/python -m bench.whatsapp_load --webhooks 2000 --concurrency 32
    .venv/bin/python -m bench.whatsapp_load --messages 10000 --workers 1,3 --mps 80
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.harness import (
    POSTGRES,
    REDIS,
    TEXTS,
    Deployment,
    FakeApi,
    Result,
    answered_result,
    free_port,
    inbound_result,
    outbound_result,
    post_all,
    summary,
    wait_until_up,
    workdir,
    workers_list,
)
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER

INBOUND_MPS = 400


@dataclass(frozen=True)
class Options:
    webhooks: int = 2000
    concurrency: int = 32
    messages: int = 10_000
    workers: tuple[int, ...] = (1, 3)
    mps: int = 80
    inbound: bool = True
    outbound: bool = True
    keep_logs: bool = False
    postgres: str = POSTGRES
    redis: str = REDIS


def webhooks(count: int, url: str) -> list[tuple[str, bytes, dict[str, str]]]:
    """`count` incoming messages, each from its own customer, signed for `url` as Twilio does."""
    validator = RequestValidator(AUTH_TOKEN)
    made = []
    for n in range(count):
        sid = f"SM{n:032x}"
        params = {
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ProfileName": f"Customer {n}",
            "MessageType": "text",
            "SmsSid": sid,
            "WaId": f"97250{n:07d}",
            "SmsStatus": "received",
            "Body": f"{TEXTS[n % len(TEXTS)]} ({n})",
            "To": SENDER,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:+97250{n:07d}",
            "ApiVersion": "2010-04-01",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, params),
        }
        made.append((url, urlencode(params).encode(), headers))
    return made


def _addresses(count: int) -> list[str]:
    return [f"whatsapp:+97250{n:07d}" for n in range(count)]


def _connect(deployment: Deployment, mps: int) -> None:
    deployment.kesher(
        "whatsapp", "connect", "--business", "bench", "--account-sid", ACCOUNT_SID,
        "--auth-token", AUTH_TOKEN, "--sender", SENDER, "--mps", str(mps),
    )  # fmt: skip


async def inbound(deployment: Deployment, options: Options) -> list[Result]:
    addresses = _addresses(options.webhooks)
    processes = deployment.processes
    # The bare endpoint starts now, and idles while Kesher is measured.
    bare_port = free_port()
    bare_base = f"http://127.0.0.1:{bare_port}"
    bare = processes.start(
        "bare-twilio",
        *(sys.executable, "-m", "bench.channel_servers", "bare-twilio"),
        *("--port", str(bare_port), "--public-url", bare_base),
    )
    async with FakeApi(processes, "fake-twilio") as fake:
        _connect(deployment, INBOUND_MPS)
        kesher = await deployment.serve(1, {"KESHER_TWILIO_API_URL": fake.url})
        made = webhooks(options.webhooks, f"{deployment.base}/webhooks/whatsapp/bench")
        started, _, failures = await post_all(made, concurrency=options.concurrency)
        await fake.wait_for(len(made))
        replies, refused = await fake.calls()
        ours = inbound_result(
            f"Kesher inbound, {options.concurrency} at a time, 1 worker",
            started=started,
            addresses=addresses,
            replies=replies,
            limited=len(refused),
        )
        if failures:
            print(f"Kesher answered {len(failures)} webhooks with an error, e.g. {failures[0]}")
        for process in kesher:
            processes.stop(process)

    await wait_until_up(f"{bare_base}/", bare, processes.logs)
    made = webhooks(options.webhooks, f"{bare_base}/webhooks/whatsapp/bench")
    started, answered, failures = await post_all(made, concurrency=options.concurrency)
    theirs = answered_result(
        f"bare FastAPI signature check, {options.concurrency} at a time",
        started=started,
        answered=answered,
        failures=len(failures),
    )
    processes.stop(bare)
    return [ours, theirs]


async def outbound(deployment: Deployment, options: Options, workers: int, run: int) -> Result:
    prefix = f"whatsapp:+9725{run + 1}"
    ids = await deployment.seed_outbound(
        "whatsapp", f"'{prefix}' || lpad(g::text, 7, '0')", options.messages, tag=f"wa{run}"
    )
    addresses = {f"{prefix}{g:07d}" for g in range(1, options.messages + 1)}
    await deployment.enqueue_sends(ids)
    async with FakeApi(deployment.processes, "fake-twilio", "--mps", str(options.mps)) as fake:
        started = await deployment.workers(
            workers, {"KESHER_TWILIO_API_URL": fake.url}, ready=False
        )
        await fake.wait_for(len(ids))
        sent, refused = await fake.calls()
        for process in started:
            deployment.processes.stop(process)
    return outbound_result(
        f"Kesher outbound, MPS {options.mps}, {workers} worker{'s' if workers > 1 else ''}",
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
                _connect(deployment, options.mps)
                for run_number, workers in enumerate(options.workers):
                    results.append(await outbound(deployment, options, workers, run_number))
    return results


def report(results: list[Result], options: Options) -> str:
    return summary(
        results,
        baseline="bare FastAPI signature check",
        called="bare endpoint",
        limit=options.mps,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--webhooks", type=int, default=Options.webhooks, help="inbound messages")
    parser.add_argument("--concurrency", type=int, default=Options.concurrency)
    parser.add_argument("--messages", type=int, default=Options.messages, help="outbound messages")
    parser.add_argument("--workers", default="1,3", help="worker processes per outbound run")
    parser.add_argument("--mps", type=int, default=Options.mps, help="the sender's MPS, outbound")
    parser.add_argument("--only", choices=["inbound", "outbound"])
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    options = Options(
        webhooks=args.webhooks,
        concurrency=args.concurrency,
        messages=args.messages,
        workers=tuple(workers_list(args.workers)),
        mps=args.mps,
        inbound=args.only != "outbound",
        outbound=args.only != "inbound",
        keep_logs=args.keep_logs,
    )
    print(report(asyncio.run(run(options)), options))


if __name__ == "__main__":
    main()
