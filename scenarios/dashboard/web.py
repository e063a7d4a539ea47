"""What every dashboard page shares: the templates, the reveal switch, post/redirect/get."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .present import Masked, clock_text, pretty, short
from .reader import StackReader

if TYPE_CHECKING:
    import jinja2

PREFIX = "/ui"
REVEAL_COOKIE = "careflow_reveal"
FLASH_COOKIE = "careflow_flash"


class Dashboard:
    """The reader and the templates one mounted dashboard renders with."""

    def __init__(self, reader: StackReader) -> None:
        self.reader = reader

    @cached_property
    def templates(self) -> jinja2.Environment:
        """Built on the first page rendered: ``careflow up`` does not wait for jinja2."""
        import jinja2

        templates = jinja2.Environment(
            loader=jinja2.PackageLoader("careflow.scenarios.dashboard", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        templates.filters.update(pretty=pretty, clock=clock_text, short=short)
        templates.tests.update(
            masked=lambda v: isinstance(v, Masked), list=lambda v: isinstance(v, list)
        )
        return templates

    def render(
        self, request: Request, template: str, http_status: int = 200, **ctx: Any
    ) -> Response:
        flash = unquote(request.cookies.get(FLASH_COOKIE) or "") or None
        ctx.setdefault("section", "")
        html = self.templates.get_template(template).render(
            request=request,
            path=request.url.path,
            full_path=_here(request),
            reveal=revealed(request),
            flash=flash,
            prefix=PREFIX,
            **ctx,
        )
        response = HTMLResponse(html, http_status)
        if flash:
            response.delete_cookie(FLASH_COOKIE, path=PREFIX)
        return response


def dashboard(request: Request) -> Dashboard:
    return request.app.state.dashboard


def revealed(request: Request) -> bool:
    return request.cookies.get(REVEAL_COOKIE) == "1"


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def redirect(request: Request, to: str, flash: str | None = None) -> Response:
    """Post/redirect/get: back to a dashboard page (never elsewhere), with a one-time note."""
    if not to.startswith(PREFIX + "/") and to != PREFIX:
        to = PREFIX + "/"
    response = RedirectResponse(to, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, quote(flash[:300]), max_age=30, path=PREFIX, samesite="strict"
        )
    return response


def same_origin(request: Request) -> bool:
    """A form post must come from a dashboard page (no cross-site form posts)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")
