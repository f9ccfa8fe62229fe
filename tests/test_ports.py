"""The test servers' ports (:mod:`tests.ports`): free, and never one the system could hand out."""

from __future__ import annotations

import socket

from tests import ports
from tests.ports import LOWEST, _ephemeral_start, free_port, is_free


def test_a_port_is_free_on_every_address_and_below_the_ephemeral_range():
    drawn = {free_port("127.0.0.1", "127.0.0.2") for _ in range(20)}
    assert all(LOWEST <= port < _ephemeral_start() for port in drawn), drawn
    assert len(drawn) > 1, "the same port every time: two test processes would draw it together"
    for port in drawn:
        for address in ("127.0.0.1", "127.0.0.2"):
            with socket.socket() as server:
                server.bind((address, port))


def test_a_port_held_on_one_of_the_addresses_is_not_given(monkeypatch):
    while True:  # a port whose next one is free too
        held_port = free_port("127.0.0.1", "127.0.0.2")
        if held_port + 1 < _ephemeral_start() and is_free(held_port + 1, "127.0.0.1", "127.0.0.2"):
            break
    with socket.socket() as held:
        held.bind(("127.0.0.2", held_port))
        # two candidates only: the held port and the next one
        monkeypatch.setattr(ports, "LOWEST", held_port)
        monkeypatch.setattr(ports, "_ephemeral_start", lambda: held_port + 2)
        assert {ports.free_port("127.0.0.1", "127.0.0.2") for _ in range(20)} == {held_port + 1}

