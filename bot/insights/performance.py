"""Agent performance per week (weeks from Sunday, in the business's timezone): conversations
handled (replied to or resolved), handoffs resolved, the average time to a person's first answer and to the resolution, and what
customers said to "did we solve it?" after a handoff (`flows.follow_up`).

Each figure counts where it happened: a first answer in the week it was given, a resolution
in its week, a follow-up answer in the week it came; each by the agent who holds the handoff.
A conversation handled counts once per agent and week, from the timeline's replies and
resolutions. Four queries whatever the number of weeks or handoffs (`SqlInsights`), added up
here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain import AgentTally, Business
from bot.services import Services


@dataclass(frozen=True, slots=True)
class AgentWeek:
    """One agent's week; `agent_id` None is what no agent held."""

    week: date
    """The Sunday that starts it."""
    agent_id: int | None
    agent: str | None
    conversations: int = 0
    """Conversations the agent replied to or resolved (a handoff's too)."""
    handled: int = 0
    """Handoffs resolved."""
    answered: int = 0
    first_response: timedelta | None = None
    """The average from the request to a person's first answer, over the week's first answers."""
    resolution: timedelta | None = None
    """The average from the request to the resolution, over the week's resolutions."""
    follow_ups: int = 0
    solved: int = 0

    @property
    def solved_share(self) -> float | None:
        return self.solved / self.follow_ups if self.follow_ups else None


def bounds(first: date, weeks: int, timezone: str) -> list[datetime]:
    """The starts of `weeks` weeks from the Sunday `first`, and the end of the last (local
    midnight, so a week of a clock change is 167 or 169 hours)."""
    zone = ZoneInfo(timezone)
    return [datetime.combine(first + timedelta(days=7 * n), time(), zone) for n in range(weeks + 1)]


async def weekly(
    services: Services, business: Business, *, first: date, weeks: int
) -> list[AgentWeek]:
    """Each agent's figures in each of `weeks` weeks from the Sunday `first`: newest week
    first, then by agent name; an agent with nothing in a week is left out of it."""
    edges = bounds(first, weeks, business.timezone)
    async with services.uow() as uow:
        responses = await uow.insights.first_responses(business.id, weeks=edges)
        resolutions = await uow.insights.resolutions(business.id, weeks=edges)
        follow_ups = await uow.insights.follow_ups(business.id, weeks=edges)
        conversations = await uow.insights.conversations_handled(business.id, weeks=edges)
        names = dict(await uow.agents.names(business.id))
    return added_up(first, names, responses, resolutions, follow_ups, conversations)


def added_up(
    first: date,
    names: dict[int, str],
    responses: Sequence[AgentTally],
    resolutions: Sequence[AgentTally],
    follow_ups: Sequence[AgentTally],
    conversations: Sequence[AgentTally],
) -> list[AgentWeek]:
    cells: dict[tuple[int, int | None], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for tallies, count, total in (
        (responses, "answered", "waited"),
        (resolutions, "handled", "took"),
        (follow_ups, "follow_ups", "solved"),
        (conversations, "conversations", "none"),
    ):
        for tally in tallies:
            if tally.week < 0:
                continue
            cell = cells[tally.week, tally.agent_id]
            cell[count] += tally.count
            cell[total] += tally.total
    rows = [
        AgentWeek(
            week=first + timedelta(days=7 * week),
            agent_id=agent,
            agent=names.get(agent) if agent is not None else None,
            conversations=int(cell["conversations"]),
            handled=int(cell["handled"]),
            answered=int(cell["answered"]),
            first_response=_average(cell["waited"], cell["answered"]),
            resolution=_average(cell["took"], cell["handled"]),
            follow_ups=int(cell["follow_ups"]),
            solved=int(cell["solved"]),
        )
        for (week, agent), cell in cells.items()
    ]
    return sorted(rows, key=lambda r: (-r.week.toordinal(), r.agent is None, r.agent or ""))


def _average(seconds: float, count: float) -> timedelta | None:
    return timedelta(seconds=round(seconds / count)) if count else None


# Seconds, minutes, hours, days, in each language.
UNITS = {"he": ("שנ׳", "דק׳", "שע׳", "ימ׳"), "en": ("s", "min", "h", "d")}


def duration(value: timedelta | None, language: str) -> str:
    """A duration as a person reads it: 45 s, 12 min, 3 h 05 min, 2 d 4 h; "—" for none."""
    if value is None:
        return "—"
    s, m, h, d = UNITS.get(language, UNITS["en"])
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} {s}"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} {m}"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} {h} {minutes:02d} {m}"
    days, hours = divmod(hours, 24)
    return f"{days} {d} {hours} {h}"
