"""Fixtures for tests that talk to the Hub stand-in (hub_server.py): `hub`, a server on
127.0.0.1, and `isolated_hub_settings`, which keeps huggingface_hub off the network, away from
any token and from the user's cache (a test module opts in with
`pytestmark = pytest.mark.usefixtures("isolated_hub_settings")`)."""

import socket

import pytest
from huggingface_hub import constants

from tests.support.hub_server import FakeHub

TOKEN = "hf_testSecretToken0123456789abcdefABCDEF"
_real_connect = socket.socket.connect


def _local_only(sock, address):
    """Tests may reach 127.0.0.1 only: nothing leaves the machine."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] != "127.0.0.1":
        raise AssertionError(f"a test tried to connect to {address}")
    return _real_connect(sock, address)


@pytest.fixture
def isolated_hub_settings(tmp_path, monkeypatch):
    """No token, online, an empty HF cache; huggingface_hub reads these constants at import, so
    they are patched as well as the environment."""
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-saved-token"))
    monkeypatch.setattr(socket.socket, "connect", _local_only)


@pytest.fixture
def hub():
    with FakeHub(page_size=4) as server:
        yield server
