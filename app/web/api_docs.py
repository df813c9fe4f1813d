"""The API reference at `/docs`: Swagger UI, vendored in /static, on the app's OpenAPI
document; it works offline and loads nothing from another origin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web.pages import render

router = APIRouter(include_in_schema=False)

# The vendored release's folder under app/web/static (static/README.md says how to update it).
SWAGGER_UI = "swagger-ui-5.36.0"


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request) -> HTMLResponse:
    app = request.app
    return render(
        request,
        "api_docs.html",
        {"title": app.title, "openapi_url": app.openapi_url, "swagger": SWAGGER_UI},
    )
