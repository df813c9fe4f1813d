"""Signing in under attack, on both backends: the lockout holds under concurrent guesses,
unknown logins are answered and locked like known ones, attempts are throttled per address and
per e-mail, and one business's agents' e-mails tell another nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import httpx
import pytest

from app.bootstrap import Runtime
from bot.accounts.businesses import create_business
from bot.domain import Business, Rate
from bot.handoffs import signin
from bot.handoffs.agents import create_agent
from bot.ports import PasswordHasher
from tests.integration.test_inbox import PASSWORD, _sign_in

WRONG = "not the password!"


class Counted:
    """The runtime's own hasher, with a list of the passwords it was asked to check and
    whether each was against an agent's hash (True) or no agent's (False)."""

    def __init__(self, inner: PasswordHasher) -> None:
        self.inner = inner
        self.checked: list[tuple[str, bool]] = []

    async def hash(self, password: str) -> str:
        return await self.inner.hash(password)

    async def verify(self, stored: str | None, password: str) -> bool:
        self.checked.append((password, stored is not None))
        return await self.inner.verify(stored, password)

    def has_room(self) -> bool:
        return self.inner.has_room()

    def needs_rehash(self, stored: str) -> bool:
        return self.inner.needs_rehash(stored)


class Held(Counted):
    """Counted, and every check waits until `release`: guesses still being checked."""

    def __init__(self, inner: PasswordHasher) -> None:
        super().__init__(inner)
        self._arrived = asyncio.Condition()
        self._released = asyncio.Event()

    async def verify(self, stored: str | None, password: str) -> bool:
        async with self._arrived:
            self.checked.append((password, stored is not None))
            self._arrived.notify_all()
        await self._released.wait()
        return await self.inner.verify(stored, password)

    async def being_checked(self, count: int) -> None:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.checked) >= count), timeout=10
            )

    def release(self) -> None:
        self._released.set()


class Full(Counted):
    """A hasher whose threads and queue are all taken."""

    def has_room(self) -> bool:
        return False


class Unlimited:
    """A rate limiter that never refuses: the lockout alone, without the throttles."""

    async def hit(self, key: str, rate: Rate) -> bool:
        return True

    async def retry_after(self, key: str, rate: Rate) -> float:
        return 0.0

    async def reserve(self, key: str, rate: Rate, *, max_wait: float) -> float | None:
        return 0.0


def _counted(runtime: Runtime) -> Counted:
    counted = Counted(runtime.services.passwords)
    runtime.services = dataclasses.replace(runtime.services, passwords=counted)
    return counted


async def _agent(runtime: Runtime, business: Business, email: str, password: str) -> None:
    async with runtime.services.uow() as uow:
        await create_agent(
            uow,
            business,
            email=email,
            name="Noa",
            password=password,
            passwords=runtime.services.passwords,
            now=runtime.services.clock.now(),
        )
        await uow.commit()


async def _business(runtime: Runtime, slug: str) -> tuple[Business, str]:
    async with runtime.services.uow() as uow:
        made = await create_business(
            uow,
            f"{slug}-{uuid.uuid4().hex[:6]}",
            name=slug,
            sandbox=False,
            now=runtime.services.clock.now(),
        )
        await uow.commit()
    return made


async def _guess(
    runtime: Runtime, business: str, email: str, password: str, *, address: str = "10.0.0.1"
) -> str:
    """What one attempt comes to: "signed in", "wrong" or "locked"."""
    try:
        await signin.sign_in(
            runtime.services,
            business=business,
            email=email,
            password=password,
            address=address,
            now=runtime.services.clock.now(),
        )
    except signin.LoginRefused as refused:
        return "locked" if refused.locked else "wrong"
    return "signed in"


async def test_thirty_concurrent_wrong_guesses_check_five_passwords_and_lock_the_login(
    runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _agent(runtime, shop, "noa@shop.test", PASSWORD)
    counted = _counted(runtime)
    # The lockout alone: the throttles would stop most of these before the lockout counts.
    runtime.services = dataclasses.replace(runtime.services, limiter=Unlimited())

    outcomes = await asyncio.gather(
        *(
            _guess(runtime, shop.slug, "noa@shop.test", WRONG + str(n), address=f"10.0.0.{n}")
            for n in range(30)
        )
    )

    assert len(counted.checked) == signin.MAX_FAILURES
    assert sorted(outcomes) == ["locked"] * 26 + ["wrong"] * 4
    assert await _guess(runtime, shop.slug, "noa@shop.test", PASSWORD) == "locked"
    assert len(counted.checked) == signin.MAX_FAILURES


async def test_the_right_password_while_the_first_guesses_are_being_checked_is_never_checked(
    runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _agent(runtime, shop, "noa@shop.test", PASSWORD)
    held = Held(runtime.services.passwords)
    runtime.services = dataclasses.replace(runtime.services, passwords=held, limiter=Unlimited())
    guesses = [WRONG + str(n) for n in range(30)]
    guesses[8] = PASSWORD

    def guess(n: int) -> asyncio.Task[str]:
        return asyncio.create_task(
            _guess(runtime, shop.slug, "noa@shop.test", guesses[n], address=f"10.0.0.{n}")
        )

    first = [guess(n) for n in range(8)]
    await held.being_checked(signin.MAX_FAILURES)
    later = await asyncio.gather(*(guess(n) for n in range(8, 30)))
    held.release()
    answered = await asyncio.gather(*first)

    assert later == ["locked"] * 22
    assert sorted(answered) == ["locked"] * 4 + ["wrong"] * 4
    assert len(held.checked) == signin.MAX_FAILURES
    assert PASSWORD not in [password for password, _ in held.checked]


async def test_thirty_concurrent_wrong_guesses_over_http_are_answered_401_or_429_with_retry_after(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _agent(runtime, shop, "noa@shop.test", PASSWORD)
    counted = _counted(runtime)

    answers = await asyncio.gather(
        *(_sign_in(client, shop, "noa@shop.test", WRONG + str(n)) for n in range(30))
    )
    right = await _sign_in(client, shop, "noa@shop.test", PASSWORD)

    assert len(counted.checked) <= signin.MAX_FAILURES
    assert sorted(a.status_code for a in answers) == [401] * 4 + [429] * 26
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status_code == 429)
    assert right.status_code == 429 and "kesher_session" not in right.headers.get("set-cookie", "")


async def test_an_unknown_email_or_business_gets_the_same_answers_and_work_as_a_known_one(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _agent(runtime, shop, "noa@shop.test", PASSWORD)
    counted = _counted(runtime)
    logins = [
        (shop, "noa@shop.test"),
        (shop, "nobody@shop.test"),
        (Business(id=0, slug="no-such-business", name="x"), "dana@shop.test"),
    ]

    answers = {
        email + business.slug: [
            await _sign_in(client, business, email, WRONG) for _ in range(signin.MAX_FAILURES + 1)
        ]
        for business, email in logins
    }

    codes = {login: [a.status_code for a in tried] for login, tried in answers.items()}
    assert list(codes.values()) == [[401, 401, 401, 401, 429, 429]] * 3
    pages = [[a.text.split('name="csrf"')[0] for a in tried] for tried in answers.values()]
    assert pages[0] == pages[1] == pages[2]
    waits = [int(tried[-1].headers["retry-after"]) for tried in answers.values()]
    assert max(waits) - min(waits) <= 2 and waits[0] > 14 * 60
    # One password checked per attempt until the lock, against an agent's hash or a dummy one.
    checked = [known for _, known in counted.checked]
    assert checked == [True] * 5 + [False] * 5 + [False] * 5


async def test_each_address_and_each_email_is_throttled_before_any_password_is_checked(
    runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    counted = _counted(runtime)

    # From one address, at e-mails of their own (no lockout is reached).
    by_address = [
        await _guess(runtime, shop.slug, f"u{n}@shop.test", WRONG, address="10.1.1.1")
        for n in range(signin.PER_ADDRESS.count + 1)
    ]
    # At one e-mail, from addresses and businesses of their own.
    by_email = [
        await _guess(runtime, f"shop-{n}", "noa@shop.test", WRONG, address=f"10.2.2.{n}")
        for n in range(signin.PER_EMAIL.count + 1)
    ]

    assert by_address == ["wrong"] * signin.PER_ADDRESS.count + ["locked"]
    assert by_email == ["wrong"] * signin.PER_EMAIL.count + ["locked"]
    assert len(counted.checked) == signin.PER_ADDRESS.count + signin.PER_EMAIL.count


async def test_a_throttled_sign_in_is_answered_429_with_retry_after(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    answers = [
        await _sign_in(client, shop, f"u{n}@shop.test", WRONG)
        for n in range(signin.PER_ADDRESS.count + 1)
    ]

    assert [a.status_code for a in answers[:-1]] == [401] * signin.PER_ADDRESS.count
    assert answers[-1].status_code == 429
    assert 0 < int(answers[-1].headers["retry-after"]) <= 60
    assert "יותר מדי ניסיונות" in answers[-1].text


async def test_a_full_queue_of_passwords_is_answered_503_and_counts_no_attempt(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _agent(runtime, shop, "noa@shop.test", PASSWORD)
    full = Full(runtime.services.passwords)
    runtime.services = dataclasses.replace(runtime.services, passwords=full)

    busy = [await _sign_in(client, shop, "noa@shop.test", WRONG) for _ in range(8)]
    runtime.services = dataclasses.replace(runtime.services, passwords=full.inner)
    later = await _sign_in(client, shop, "noa@shop.test", PASSWORD)

    assert {a.status_code for a in busy} == {503}
    assert busy[0].headers["retry-after"] == "1" and "יש כרגע עומס" in busy[0].text
    assert full.checked == []
    assert later.status_code == 303  # none of the eight counted towards the lockout


async def test_two_businesses_may_have_an_agent_with_one_email_and_learn_nothing_of_each_other(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    (first, first_key), (second, second_key) = (
        await _business(runtime, "first"),
        await _business(runtime, "second"),
    )

    async def add(slug: str, key: str, password: str) -> httpx.Response:
        return await client.post(
            f"/api/v1/{slug}/agents",
            json={"email": "Dana@Both.test", "name": "Dana", "password": password},
            headers={"Authorization": f"Bearer {key}"},
        )

    made = await add(first.slug, first_key, "first's password")
    also = await add(second.slug, second_key, "second's password")
    again = await add(second.slug, second_key, "another password")

    assert made.status_code == 201 and also.status_code == 201
    assert again.status_code == 400
    refused = again.json()["error"]
    assert refused["code"] == "agent_exists" and first.slug not in refused["message"]
    assert "this business" in refused["message"]
    # Each signs in to their own business with their own password, and only there.
    assert (await _sign_in(client, first, "dana@both.test", "second's password")).status_code == 401
    assert (
        await _sign_in(client, second, "dana@both.test", "second's password")
    ).status_code == 303
    me = await client.get("/inbox")
    assert me.status_code == 200


@pytest.mark.parametrize("runtime", ["sqlite-memory"], indirect=True)
async def test_the_login_form_asks_for_the_business_and_remembers_it(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _agent(runtime, shop, "noa@shop.test", PASSWORD)

    hebrew = await client.get(f"/inbox/login?business={shop.slug}")
    english = await client.get("/inbox/login?lang=en")
    signed = await _sign_in(client, shop, "noa@shop.test", PASSWORD)
    await client.post("/inbox/logout", data={"csrf": ""})
    client.cookies.delete("kesher_session")
    later = await client.get("/inbox/login")

    assert 'dir="rtl"' in hebrew.text and "מזהה העסק" in hebrew.text
    assert f'value="{shop.slug}"' in hebrew.text
    assert "Business ID" in english.text and 'name="business"' in english.text
    assert signed.status_code == 303
    assert (
        f'name="business" autocomplete="organization" required dir="ltr" value="{shop.slug}"'
        in later.text
    )
