"""Swagger UI that works offline: its assets come from an installed package, not a CDN.

``fastapi-offline`` ships the swagger-ui bundle, stylesheet and favicon as package data; FastAPI's
own docs page would fetch them from a CDN, which a sandbox that must run without network (and a
browser test that refuses remote hosts) cannot.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_PACKAGE = ("fastapi_offline", "static")


def offline_docs(app: FastAPI, docs_url: str, openapi_url: str, title: str) -> None:
    """Serve Swagger UI for ``openapi_url`` at ``docs_url``, assets under ``{docs_url}/static``."""
    static = f"{docs_url}/static"
    app.mount(static, StaticFiles(packages=[ASSETS_PACKAGE]), name=f"swagger-assets{docs_url}")

    @app.get(docs_url, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon.png",
        )
