"""The business console for admins: insights at a glance; schedules, custom flows, channels,
customers, agents, contact rules, API keys, the knowledge base and the business's settings
set up from forms; a
customer's record exported or deleted on request. One module a page.

Same page kit and login as the inbox (an admin's session); the numbers come from the insights
API's own functions and the forms call the same services as the API and the CLI, so they
never disagree.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.web.console import (
    agents,
    channels,
    customers,
    flows,
    insights,
    keys,
    knowledge,
    login,
    rules,
    schedules,
    settings,
    setup,
)
from app.web.console.admins import AdminsOnly, forbidden_page


def install(app: FastAPI) -> None:
    """The console's pages, its sign-in and first-run setup, and its refusal of agents who
    are not admins."""
    setup.install(app)
    for page in (
        login,
        insights,
        schedules,
        channels,
        customers,
        agents,
        rules,
        keys,
        settings,
        flows,
        knowledge,
    ):
        app.include_router(page.router)
    app.exception_handler(AdminsOnly)(forbidden_page)
