"""What `nadir start` reads from /proc/net/tcp, and what its banner says about it."""

from __future__ import annotations

import socket
import sys

import pytest

from api.start import exposure_lines
from pacs.listeners import Listener, parse_proc_net_tcp

# Captured on x86-64 (little-endian): 0.0.0.0:57499, 127.0.0.1:25672, a connection to
# 127.0.0.1:5432 (not listening), and in tcp6 [::1]:4369 and [::]:8000.
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:E09B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 58714 1 0
   1: 0100007F:6448 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 7397 1 0
   2: 0100007F:C350 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 9001 1 0
"""
TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1111 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 5927 1 0
   1: 00000000000000000000000000000000:1F40 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 5928 1 0
"""  # noqa: E501

pytestmark = pytest.mark.skipif(sys.byteorder != "little", reason="sample taken on x86-64")


def test_only_listening_sockets_are_read_with_their_inodes() -> None:
    assert parse_proc_net_tcp(TCP, socket.AF_INET) == {
        58714: Listener("0.0.0.0", 57499), 7397: Listener("127.0.0.1", 25672)}
    assert parse_proc_net_tcp(TCP6, socket.AF_INET6) == {
        5927: Listener("::1", 4369), 5928: Listener("::", 8000)}


def test_a_listener_knows_loopback_from_every_interface() -> None:
    assert Listener("127.0.0.1", 1).loopback and Listener("::1", 1).loopback
    assert Listener("0.0.0.0", 1).every_interface and not Listener("0.0.0.0", 1).loopback
    assert not Listener("10.0.0.5", 1).loopback and not Listener("10.0.0.5", 1).every_interface
    assert str(Listener("::1", 4369)) == "[::1]:4369"
    with pytest.raises(ValueError, match="'localhost'"):
        Listener("localhost", 80)
    with pytest.raises(ValueError, match="70000"):
        Listener("127.0.0.1", 70000)


def test_banner_all_on_loopback() -> None:
    assert exposure_lines(
        nadir=[Listener("127.0.0.1", 8000)],
        orthanc=[Listener("127.0.0.1", 4242), Listener("127.0.0.1", 8042)],
        orthanc_http_port=8042, loopback_problem=None,
    ) == ["Listening:       Nadir 127.0.0.1:8000, Orthanc DICOM 127.0.0.1:4242, "
          "Orthanc HTTP 127.0.0.1:8042",
          "Exposed:         nothing; every listener is on loopback"]


def test_banner_names_every_exposed_listener_and_what_to_firewall() -> None:
    lines = exposure_lines(
        nadir=[Listener("10.0.0.5", 8000)],
        orthanc=[Listener("0.0.0.0", 4242), Listener("0.0.0.0", 8042)],
        orthanc_http_port=8042, loopback_problem="no C compiler (cc)",
    )
    assert lines[1] == ("Exposed:         Nadir on 10.0.0.5 port 8000, Orthanc DICOM on every "
                        "interface port 4242, Orthanc HTTP on every interface port 8042")
    assert "registered peers only: firewall port 4242" in lines[2]
    assert "RemoteAccessAllowed false): firewall port 8042" in lines[3]
    assert lines[4].strip() == "(no C compiler (cc))"
