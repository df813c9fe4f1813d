"""The REST API under /api/v1/{business}: one module per resource, each called with the
business's API key; `router` holds them all."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.api import (
    agents,
    business,
    channels,
    checkins,
    conversations,
    customers,
    data,
    flows,
    handoffs,
    insights,
    knowledge,
    rules,
    schedules,
)

router = APIRouter()
for resource in (
    customers,
    data,
    channels,
    business,
    schedules,
    flows,
    rules,
    checkins,
    insights,
    handoffs,
    conversations,
    agents,
    knowledge,
):
    router.include_router(resource.router)
