"""Secret: masked everywhere, revealed only on purpose."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

from origincert.secret import Secret

VALUE = "cf-token-abc123-DO-NOT-LEAK"


def test_repr_str_and_format_are_masked() -> None:
    secret = Secret(VALUE)
    assert repr(secret) == "Secret('****')"
    assert str(secret) == "****"
    assert f"{secret}" == "****"
    assert f"{secret!r}" == "Secret('****')"
    assert VALUE not in repr({"token": secret})
    assert secret.reveal() == VALUE


def test_logging_a_secret_prints_the_mask(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("token=%s repr=%r", Secret(VALUE), Secret(VALUE))
    assert VALUE not in caplog.text
    assert "****" in caplog.text


def test_from_input_trims_paste_whitespace() -> None:
    assert Secret.from_input(f"  {VALUE}\r\n").reveal() == VALUE
    assert Secret.from_input(f"{VALUE}\n".encode()).reveal() == VALUE


def test_equality_by_value_and_fingerprint() -> None:
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret(VALUE + "x")
    assert Secret(VALUE) != VALUE
    fingerprint = Secret(VALUE).fingerprint()
    assert len(fingerprint) == 8
    assert fingerprint == Secret(VALUE).fingerprint()
    assert fingerprint not in VALUE


def test_a_secret_cannot_be_pickled_but_copies_are_itself() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(VALUE))
    secret = Secret(VALUE)
    assert copy.deepcopy(secret) is secret
