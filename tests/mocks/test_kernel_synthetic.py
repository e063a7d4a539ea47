import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.mocks.kernel import Synthetic, production_credential_reason
from careflow.mocks.kernel.synthetic import is_reserved_email, is_reserved_phone


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), namespace=st.text(max_size=10))
def test_same_seed_same_people(seed, namespace):
    first = [Synthetic(seed, namespace).person() for _ in range(1)]
    again = [Synthetic(seed, namespace).person() for _ in range(1)]
    assert first == again


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_identities_are_obviously_fake(seed):
    gen = Synthetic(seed)
    for _ in range(5):
        person = gen.person()
        assert is_reserved_email(person["email"]), person["email"]
        assert is_reserved_phone(person["phone"]), person["phone"]


def test_streams_differ_by_seed_and_namespace():
    assert Synthetic(1).person() != Synthetic(2).person()
    assert Synthetic(1).for_("a").person() != Synthetic(1).for_("b").person()


@given(seed=st.integers(0, 2**32), purpose=st.text(max_size=10))
def test_issued_tokens_are_deterministic_and_never_look_real(seed, purpose):
    token = Synthetic(seed).token(purpose)
    assert token == Synthetic(seed).token(purpose)
    assert production_credential_reason(token) is None


def test_real_looking_keys_are_named():
    assert production_credential_reason("sk_live_abc") is not None
    assert production_credential_reason("4f9a8c7e6d5b4a3c2e1f0a9b8c7d6e5f4a3b2c1d") is not None
    assert production_credential_reason("demo") is None


@pytest.mark.parametrize("seed", [0, 7, "demo"])
def test_the_lean_faker_draws_what_faker_en_us_draws(seed):
    """Synthetic builds only Faker's en_US person and address providers (a faster start); the
    names and addresses must stay those of ``Faker("en_US")`` seeded the same way, or a seed
    would give other data than it used to."""
    from faker import Faker

    from careflow.mocks.kernel.synthetic import Synthetic, derive

    lean = Synthetic(seed, "patients").faker
    full = Faker("en_US")
    full.seed_instance(derive(seed, "patients", "faker"))
    for method in (
        "first_name",
        "last_name",
        "street_address",
        "city",
        "state_abbr",
        "zipcode",
    ) * 20:
        assert getattr(lean, method)() == getattr(full, method)(), method
