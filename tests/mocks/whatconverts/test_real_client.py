"""A client written for https://app.whatconverts.com/api/v1/ works unchanged against the fake:
Basic auth, form-encoded posts with bracketed maps, paging until page_number >= total_pages.
Run in-process and against real uvicorn servers (the plugin's server mode)."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from typing import Any

import httpx
import pytest


class WhatConvertsClient:
    """What a user would write from the vendor's docs (nothing sandbox-specific but the URL)."""

    def __init__(self, base_url: str, token: str, secret: str, http: httpx.Client | None = None):
        self.base = base_url.rstrip("/")
        self.http = http or httpx.Client()
        self.http.auth = httpx.BasicAuth(token, secret)

    def leads(self, **filters: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.http.get(
                f"{self.base}/leads", params={**filters, "page_number": page, "leads_per_page": 7}
            ).json()
            out += body["leads"]
            if body["page_number"] >= body["total_pages"]:
                return out
            page += 1

    def create(self, lead_type: str, extra: dict[str, str]) -> dict[str, Any]:
        form = {"lead_type": lead_type, "send_notification": "false"}
        for name, value in extra.items():
            form[f"additional_fields[{name}]"] = value
        response = self.http.post(f"{self.base}/leads", data=form)
        response.raise_for_status()
        return response.json()

    def mark_quoted(self, lead_id: int, value: float) -> dict[str, Any]:
        response = self.http.post(
            f"{self.base}/leads/{lead_id}", data={"quotable": "yes", "quote_value": str(value)}
        )
        response.raise_for_status()
        return response.json()

    def lead(self, lead_id: int) -> dict[str, Any]:
        body = self.http.get(f"{self.base}/leads/{lead_id}").json()
        return body.get("leads", [body])[0]  # envelope or bare lead, as 2026 scripts do


def exercise(client: WhatConvertsClient) -> None:
    everything = client.leads()
    assert len(everything) == len({lead["lead_id"] for lead in everything}) >= 30
    made = client.create("web_form", {"Reason": "New patient"})
    assert made["additional_fields"] == {"Reason": "New patient"}
    quoted = client.mark_quoted(made["lead_id"], 120)
    assert quoted["quotable"] == "Yes" and quoted["quote_value"] == 120
    assert client.lead(made["lead_id"])["quote_value"] == 120
    assert len(client.leads()) == len(everything) + 1
    assert {lead["lead_type"] for lead in client.leads(lead_type="web_form")} == {"Web Form"}


def test_a_vendor_client_in_process(whatconverts) -> None:
    c = whatconverts.credentials
    with whatconverts.client() as http:  # the in-process transport; the code is the same
        exercise(
            WhatConvertsClient(f"{whatconverts.url}/api/v1", c["api_token"], c["api_secret"], http)
        )


@pytest.mark.careflow(mode="server")
def test_a_vendor_client_over_real_sockets(whatconverts) -> None:
    c = whatconverts.credentials
    assert whatconverts.url.startswith("http://127.0.0.1:")
    exercise(WhatConvertsClient(f"{whatconverts.url}/api/v1", c["api_token"], c["api_secret"]))


@pytest.mark.careflow(mode="server")
def test_a_stdlib_urllib_client_with_a_form_post(whatconverts) -> None:
    """No httpx at all: urllib, a hand-made Basic header and a urlencoded body."""
    c = whatconverts.credentials
    auth = base64.b64encode(f"{c['api_token']}:{c['api_secret']}".encode()).decode()
    body = urllib.parse.urlencode({"lead_type": "phone_call", "caller_number": "+15555550123"})
    request = urllib.request.Request(
        f"{whatconverts.url}/api/v1/leads",
        data=body.encode(),
        headers={"Authorization": f"Basic {auth}"},  # urllib sets the form content type
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        lead = json.loads(response.read())
    assert lead["lead_type"] == "Phone Call" and lead["caller_number"] == "+15555550123"
