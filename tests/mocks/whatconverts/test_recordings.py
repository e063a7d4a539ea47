"""Call recordings and custom fields ([C] whatconverts.md §1, §5, §6.1, §6.2; issue 17 items
5 and 6).

Sources: the w6w WhatConverts app (source [w6w] of whatconverts.md): ``actions/recording-get.ts``
calls ``GET /recording?lead_id=`` and takes the raw MP3 bytes ("MP3 file is returned in the
response"), and ``lib/lead-fields.ts`` marks ``custom_fields`` "Profile Key or profile_id only".
"""

from __future__ import annotations

import io

from mutagen.mp3 import MP3

from careflow.mocks.whatconverts.recordings import synthetic_mp3

from .conftest import BASE, WCEnv


def _calls(env: WCEnv) -> list[dict]:
    leads = env.profile.get("/leads", params={"lead_type": "phone_call", "leads_per_page": 2500})
    return leads.json()["leads"]


def test_recording_is_a_valid_mp3(env: WCEnv) -> None:
    lead = next(c for c in _calls(env) if c["recording"])
    r = env.profile.get("/recording", params={"lead_id": lead["lead_id"]})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    audio = MP3(io.BytesIO(r.content))  # an independent MP3 parser reads it
    assert (audio.info.version, audio.info.layer, audio.info.sample_rate) == (1, 3, 48000)
    assert 0.9 < audio.info.length <= 3.1
    assert audio.tags["TIT2"].text == [
        f"careflow sandbox: synthetic silence for lead {lead['lead_id']}"
    ]
    again = env.master.get("/recording", params={"lead_id": lead["lead_id"]})
    assert again.content == r.content  # deterministic


def test_seeded_call_links_point_at_the_fake(env: WCEnv) -> None:
    calls = _calls(env)
    assert any(c["recording"] for c in calls) and any(c["voicemail"] for c in calls)
    for call in calls:
        links = [call[k] for k in ("recording", "play_recording", "voicemail", "play_voicemail")]
        assert sum(link is not None for link in links) == 2
        for link in filter(None, links):
            assert link.startswith(f"{BASE}/recording/") and link.endswith(("/download", "/play"))
            r = env.anon.get(link)  # no credentials, like the vendor's browser links
            assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
            assert r.content == synthetic_mp3(env.state.leads[call["lead_id"]])
    # on another host (interception of app.whatconverts.com, say) the links follow the host
    other = env.new_client(
        base_url="https://app.whatconverts.com/api/v1",
        auth=(env.creds["api_token"], env.creds["api_secret"]),
    )
    lead = other.get(f"/leads/{calls[0]['lead_id']}").json()["leads"][0]
    link = lead["recording"] or lead["voicemail"]
    assert link.startswith("https://app.whatconverts.com/recording/r-") or link.startswith(
        "https://app.whatconverts.com/recording/v-"
    )


def test_recording_refusals(env: WCEnv) -> None:
    form = env.profile.get("/leads", params={"lead_type": "web_form"}).json()["leads"][0]
    created = env.profile.post("/leads", data={"lead_type": "phone_call"}).json()
    for lead_id in (form["lead_id"], created["lead_id"]):  # no audio
        r = env.profile.get("/recording", params={"lead_id": lead_id})
        assert r.status_code == 404 and r.json() == {
            "error_message": "No recording found for this lead."
        }
    for params in ({}, {"lead_id": "abc"}, {"lead_id": 1}):  # [O] §4
        r = env.profile.get("/recording", params=params)
        assert r.status_code == 400 and r.json() == {"error_message": "Invalid lead ID."}
    assert env.anon.get("/recording", params={"lead_id": form["lead_id"]}).status_code == 401
    assert env.anon.get(f"{BASE}/recording/r-00000001-nope/download").status_code == 404


def test_custom_fields_only_with_a_profile_key_or_profile_id(env: WCEnv) -> None:
    lead_id = env.profile.get("/leads", params={"leads_per_page": 1}).json()["leads"][0]["lead_id"]
    edit = env.profile.post(f"/leads/{lead_id}", data={"custom_fields[Plan]": "Gold"})
    assert edit.json()["custom_fields"] == {"Plan": "Gold"}
    pid = env.creds["profile_id"]

    def one(client: object, path: str, **params: object) -> dict:
        body = client.get(path, params=params).json()  # type: ignore[attr-defined]
        return body["leads"][0]

    # a profile key: always; the master key: only when it names the profile
    assert one(env.profile, "/leads", leads_per_page=1)["custom_fields"] == {"Plan": "Gold"}
    assert one(env.master, "/leads", leads_per_page=1, profile_id=pid)["custom_fields"]
    assert "custom_fields" not in one(env.master, "/leads", leads_per_page=1)
    assert all("custom_fields" not in x for x in env.master.get("/leads").json()["leads"])
    assert "custom_fields" not in one(env.master, f"/leads/{lead_id}")
    assert one(env.master, f"/leads/{lead_id}", profile_id=pid)["custom_fields"]
    assert one(env.profile, f"/leads/{lead_id}")["custom_fields"]
    master_edit = env.master.post(f"/leads/{lead_id}", data={"quote_value": "5"}).json()
    assert "custom_fields" not in master_edit
    # the stored lead keeps them
    assert env.state.leads[lead_id]["custom_fields"] == {"Plan": "Gold"}


def test_the_journal_shows_audio_by_size(env: WCEnv) -> None:
    lead = _calls(env)[0]
    size = len(env.profile.get("/recording", params={"lead_id": lead["lead_id"]}).content)
    entry = env.admin("GET", "/journal", params={"path": "/api/v1/recording"})["items"][-1]
    assert entry["response_body"] == f"<audio/mpeg body, {size} bytes>"
