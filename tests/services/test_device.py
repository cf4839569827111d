"""First run: the district server's address, registering this PC, the token in the keyring."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.services.device import (
    DeviceSetupError,
    ServerSettings,
    check_ca_file,
    check_server_url,
    district_client,
    is_registered,
    register_counter,
)
from desktop.sync.credentials import MemoryKeyring
from tests.sync.conftest import DistrictServer, free_port


@pytest.mark.parametrize(("text", "expected"), [
    ("https://yibao.example.gov.cn/", "https://yibao.example.gov.cn"),
    ("  https://10.1.2.3:8443  ", "https://10.1.2.3:8443"),
    ("http://127.0.0.1:8470", "http://127.0.0.1:8470"),  # a demo on this PC
])
def test_good_server_addresses(text: str, expected: str) -> None:
    assert check_server_url(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("http://yibao.example.gov.cn", "https"),  # never in clear over a network
    ("yibao.example.gov.cn", "形如"),
    ("ftp://x", "形如"),
    ("", "形如"),
])
def test_bad_server_addresses_are_named(text: str, words: str) -> None:
    with pytest.raises(DeviceSetupError, match=words) as info:
        check_server_url(text)
    assert info.value.field == "server_url"


def test_a_missing_ca_file_is_named(tmp_path: Path) -> None:
    assert check_ca_file("  ") is None
    with pytest.raises(DeviceSetupError, match="找不到证书文件") as info:
        check_ca_file(str(tmp_path / "nope.pem"))
    assert info.value.field == "ca_file"


def test_registration_puts_the_token_in_the_keyring_only(
        district: DistrictServer, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    server = ServerSettings(district.url)
    assert not is_registered(server)
    with pytest.raises(DeviceSetupError) as refused:
        register_counter(server, "WRONG-CODE", "华阳路 1号窗口")
    assert refused.value.field == "enrolment_code" and str(refused.value)
    with pytest.raises(DeviceSetupError, match="名称"):
        register_counter(server, district.codes()[0], " ")
    registration = register_counter(server, district.codes()[0], "华阳路 1号窗口")
    assert registration.device_id and is_registered(server)
    assert (registration.street_code, registration.street_name) == ("310105001", "华阳路街道")
    (token,) = memory_keyring.secrets.values()
    with district_client(server) as client:  # the client reads the token from the keyring
        client.login(district.user("clerk"), "demo-pass-2026")
        page = client.changes(0, 10)
        assert page.items
    assert token not in repr(server)


def test_an_unreachable_server_is_said_in_words(memory_keyring: MemoryKeyring) -> None:
    server = ServerSettings(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(DeviceSetupError, match="无法连接区服务器") as info:
        register_counter(server, "CODE-1", "华阳路 1号窗口")
    assert info.value.field == "server_url"
    assert not memory_keyring.secrets
