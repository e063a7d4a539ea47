import base64

from hypothesis import given
from hypothesis import strategies as st

from careflow.mocks.kernel import MASK, Masker
from careflow.scenarios import InProcessStack


def test_masks_secrets_and_phi_in_nested_json():
    masker = Masker()
    body = {
        "token": "sbx_secret",
        "event": "lead_created",
        "userProperties": {"email": "a@example.com", "first_name": "Ann", "plan": "gold"},
        "rows": [{"Phone": "+1 555 0100", "PK_ID": 3}],
    }
    masked = masker.value(body)
    assert masked["token"] == MASK
    assert masked["event"] == "lead_created"
    assert masked["userProperties"] == {"email": MASK, "first_name": MASK, "plan": "gold"}
    assert masked["rows"] == [{"Phone": MASK, "PK_ID": 3}]


def test_masks_form_bodies_query_and_headers():
    masker = Masker(extra_keys=["lead_notes"])
    form = (
        b"lead_type=phone_call&phone_number=5550100"
        b"&additional_fields%5BEmail%5D=x%40example.com&lead_notes=hi"
    )
    assert masker.body(form, "application/x-www-form-urlencoded") == {
        "lead_type": "phone_call",
        "phone_number": MASK,
        "additional_fields[Email]": MASK,
        "lead_notes": MASK,
    }
    assert masker.query("email_address=a%40example.com&page_number=2") == (
        "email_address=%2A%2A%2A&page_number=2"
    )
    assert masker.headers([("Authorization", "Basic abc"), ("Accept", "json")]) == {
        "Authorization": MASK,
        "Accept": "json",
    }


@given(st.text(min_size=1, max_size=40))
def test_no_secret_value_survives_masking(secret):
    masked = Masker().value({"client_secret": secret, "nested": {"access_token": secret}})
    assert masked == {"client_secret": MASK, "nested": {"access_token": MASK}}


def test_journal_masks_what_a_fake_received():
    with InProcessStack() as stack, stack.client("whatconverts") as client:
        auth = base64.b64encode(b"sbx_token:sbx_secret").decode()
        client.post(
            "/api/v1/leads?email_address=pat%40example.com",
            data={"lead_type": "web_form", "email_address": "pat@example.com"},
            headers={"Authorization": f"Basic {auth}", "X-Request-ID": "corr-1"},
        )
        (entry,) = stack.kernel("whatconverts").journal.items(correlation_id="corr-1")
    assert entry["request_headers"]["authorization"] == MASK
    assert entry["request_body"]["email_address"] == MASK
    assert "pat" not in entry["query"]
    assert "sbx_secret" not in repr(entry) and "pat@example.com" not in repr(entry)
