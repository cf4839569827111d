"""The device token goes to the OS keyring; without one, the clerk gets a clear message."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from keyring.backends import fail

from desktop.sync.credentials import (
    CredentialsUnavailable,
    MemoryKeyring,
    forget_device_token,
    load_device_token,
    save_device_token,
)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_without_a_keyring_the_message_is_clear(no_keyring: None) -> None:
    with pytest.raises(CredentialsUnavailable, match="密钥库"):
        save_device_token("https://district.example", "secret-token")
    with pytest.raises(CredentialsUnavailable, match="密钥库"):
        load_device_token("https://district.example")


def test_tokens_are_kept_per_server_and_profile(memory_keyring: MemoryKeyring) -> None:
    save_device_token("https://a.example/", "t-a")
    save_device_token("https://a.example", "t-a2", profile="training")
    save_device_token("https://b.example", "t-b")
    assert load_device_token("https://a.example") == "t-a"  # a trailing / is the same server
    assert load_device_token("https://a.example", "training") == "t-a2"
    assert load_device_token("https://b.example") == "t-b"
    forget_device_token("https://a.example")
    forget_device_token("https://a.example")  # forgetting twice is fine
    assert load_device_token("https://a.example") is None
    assert set(memory_keyring.secrets.values()) == {"t-a2", "t-b"}
