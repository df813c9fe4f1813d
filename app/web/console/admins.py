"""Who may open the console: the business's admins. An agent who is not one gets a page in
their language with the way back to the inbox (JSON for a client that asks only for JSON)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app.web.errors import error_response
from app.web.pages import Signed, SignedIn, context, render
from bot.domain import AgentRole, Forbidden


class AdminsOnly(Forbidden):
    """An agent who is not an admin opened a console page."""

    def __init__(self, signed: SignedIn) -> None:
        super().__init__("the console is for the business's admins", code="admins_only")
        self.signed = signed


async def admin(signed: Signed) -> SignedIn:
    if signed.agent.role is not AgentRole.ADMIN:
        raise AdminsOnly(signed)
    return signed


Admin = Annotated[SignedIn, Depends(admin)]


async def forbidden_page(request: Request, refused: AdminsOnly) -> Response:
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return error_response(403, refused.code, refused.message)
    return render(request, "console/forbidden.html", context(refused.signed), status=403)
