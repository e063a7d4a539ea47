"""OAuth client credentials, refresh, expiry, profiles and their permissions
([C] caspio.md §2, §10)."""

from __future__ import annotations

import base64

import httpx

from .conftest import V3, CaspioEnv


def test_token_with_form_body_has_the_vendor_shape(env: CaspioEnv) -> None:
    body = env.get_token()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86399
    assert body["access_token"] and len(body["refresh_token"]) == 64


def test_token_with_basic_header(env: CaspioEnv) -> None:
    basic = base64.b64encode(f"{env.creds['client_id']}:{env.creds['client_secret']}".encode())
    r = env.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic.decode()}"},
    )
    assert r.status_code == 200
    assert env.call("GET", "/tables", token=r.json()["access_token"]).status_code == 200


def test_bad_client_secret_is_refused(env: CaspioEnv) -> None:
    r = env.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": env.creds["client_id"],
            "client_secret": "sbx_wrong",
        },
    )
    assert r.status_code == 400 and r.json() == {"error": "invalid_client"}


def test_missing_or_unknown_bearer_is_401_in_the_envelope(env: CaspioEnv) -> None:
    for headers in ({}, {"Authorization": "Bearer sbx_nope"}):
        r = env.client.get(V3 + "/tables", headers=headers)
        assert r.status_code == 401
        assert set(r.json()) == {"Code", "Message", "Resource", "RequestId"}
        assert r.headers["X-Caspio-Request-ID"] == r.json()["RequestId"]


def test_lowercase_bearer_is_accepted(env: CaspioEnv) -> None:
    r = env.client.get(V3 + "/tables", headers={"Authorization": f"bearer {env.token}"})
    assert r.status_code == 200


def test_token_expires_on_the_virtual_clock(env: CaspioEnv) -> None:
    env.clock.advance(86398)
    assert env.call("GET", "/tables").status_code == 200
    env.clock.advance(2)
    assert env.call("GET", "/tables").status_code == 401


def test_old_tokens_stay_valid_and_refresh_issues_a_new_pair(env: CaspioEnv) -> None:
    first = env.get_token()
    r = env.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert env.call("GET", "/tables", token=first["access_token"]).status_code == 200
    assert env.call("GET", "/tables", token=second["access_token"]).status_code == 200
    again = env.client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert again.status_code == 400


def test_unknown_grant_type(env: CaspioEnv) -> None:
    r = env.client.post("/oauth/token", data={"grant_type": "password"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_v2_base_answers_the_same(env: CaspioEnv) -> None:
    r = env.client.get("/rest/v2/tables", headers={"Authorization": f"Bearer {env.token}"})
    assert r.status_code == 200 and "Patients" in r.json()["Result"]


def test_deleting_a_profile_invalidates_its_tokens(env: CaspioEnv) -> None:
    env.admin("DELETE", "/profiles/Keragon demo")
    assert env.call("GET", "/tables").status_code == 401
    r = env.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            **{k: env.creds[k] for k in ("client_id", "client_secret")},
        },
    )
    assert r.status_code == 400


def test_new_profile_and_permissions(env: CaspioEnv) -> None:
    p = env.admin("POST", "/profiles", json={"name": "Reader", "can_create": False})
    names = [x["name"] for x in env.admin("GET", "/profiles")["items"]]
    assert names == ["Keragon demo", "Reader"]
    r = env.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": p["client_id"],
            "client_secret": p["client_secret"],
        },
    )
    token = r.json()["access_token"]
    assert env.call("GET", "/tables", token=token).status_code == 200
    denied = env.call("POST", "/tables", token=token, json={"Name": "X", "Fields": []})
    assert denied.status_code == 400 and denied.json()["Code"] == "UnsufficientPrivileges"
    env.admin("PATCH", "/profiles/Reader", json={"all_objects": False})
    r = env.call("GET", "/tables/Patients/records", token=token)
    assert r.status_code == 400 and r.json()["Code"] == "UnsufficientPrivileges"


def test_disabled_profile_gets_profile_disabled(env: CaspioEnv) -> None:
    env.admin("PATCH", "/profiles/Keragon demo", json={"enabled": False})
    r = env.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": env.creds["client_id"],
            "client_secret": env.creds["client_secret"],
        },
    )
    assert r.status_code == 400 and r.json()["Code"] == "ProfileDisabled"


def test_requests_are_journaled_with_the_tenant_and_masked(env: CaspioEnv) -> None:
    env.call("GET", "/tables")
    entries = env.admin("GET", "/journal", params={"path": V3})["items"]
    assert entries and entries[-1]["request_headers"].get("authorization") == "***"


def _refresh(env: CaspioEnv, token: str) -> httpx.Response:
    return env.client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


def test_a_refresh_token_never_used_lapses_after_60_days(env: CaspioEnv) -> None:
    """[C] caspio.md §2: a refresh token is valid one year, but 60 days if it is never used."""
    early, late = env.get_token()["refresh_token"], env.get_token()["refresh_token"]
    env.clock.advance(60 * 86400 - 1)
    assert _refresh(env, early).status_code == 200  # day 59: still good
    env.clock.advance(2)
    r = _refresh(env, late)  # 60 days unused: gone
    assert r.status_code == 400 and r.json() == {"error": "invalid_grant"}


def test_a_used_chain_still_ends_after_one_year(env: CaspioEnv) -> None:
    """[C] caspio.md §2 one-year lifetime: refreshing every 50 days keeps the chain alive past
    day 60, but not past the first grant's year ([?] §2: the fake keeps that year)."""
    token = env.get_token()["refresh_token"]
    for _ in range(7):  # day 350
        env.clock.advance(50 * 86400)
        r = _refresh(env, token)
        assert r.status_code == 200, r.text
        token = r.json()["refresh_token"]
    env.clock.advance(16 * 86400)  # day 366
    assert _refresh(env, token).status_code == 400


def test_the_journal_never_shows_a_client_id(env: CaspioEnv) -> None:
    """Issue 15: Caspio's client_id (it names the web services profile) read in clear in the
    journal; it is masked like the secret, in form bodies and Basic headers alike."""
    import base64

    basic = base64.b64encode(f"{env.creds['client_id']}:{env.creds['client_secret']}".encode())
    env.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic.decode()}"},
    )
    journal = env.client.get("/__sandbox/journal").text
    assert env.creds["client_id"] not in journal and env.creds["client_secret"] not in journal
    assert '"client_id":"***"' in journal.replace(" ", "")
