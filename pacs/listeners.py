"""Which TCP addresses a process listens on, read from Linux's /proc (what ``ss -ltnp`` shows).

``nadir start`` prints what it exposes from this, not from what it asked for.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TCP_LISTEN = "0A"  # the st column of /proc/net/tcp (include/net/tcp_states.h)


@dataclass(frozen=True, order=True)
class Listener:
    """A listening TCP socket: the address it is bound to (0.0.0.0 or :: for every
    interface) and its port."""

    address: str
    port: int

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.address)
        except ValueError:
            raise ValueError(f"address must be an IP address, got {self.address!r}") from None
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be a TCP port, got {self.port}")

    @property
    def loopback(self) -> bool:
        """Reachable from this machine only."""
        return ipaddress.ip_address(self.address).is_loopback

    @property
    def every_interface(self) -> bool:
        return ipaddress.ip_address(self.address).is_unspecified

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else \
            f"{self.address}:{self.port}"


def parse_proc_net_tcp(text: str, family: socket.AddressFamily) -> dict[int, Listener]:
    """The listening sockets of a /proc/net/tcp or tcp6 table, by socket inode.

    Addresses are printed as 32-bit words in the kernel's byte order: on x86 each word's
    bytes are reversed."""
    width = 8 if family == socket.AF_INET else 32
    found: dict[int, Listener] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_LISTEN:
            continue
        address_hex, port_hex = fields[1].split(":")
        if len(address_hex) != width:
            continue
        packed = b"".join(int(address_hex[i:i + 8], 16).to_bytes(4, sys.byteorder)
                          for i in range(0, width, 8))
        found[int(fields[9])] = Listener(socket.inet_ntop(family, packed), int(port_hex, 16))
    return found


def listening(pid: int | None = None) -> list[Listener]:
    """The TCP listeners of process ``pid`` (every process's if None), sorted."""
    tables: dict[int, Listener] = {}
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            text = (PROC / "net" / name).read_text()
        except OSError:
            continue  # no IPv6 on this kernel
        tables.update(parse_proc_net_tcp(text, family))
    if pid is None:
        return sorted(set(tables.values()))
    return sorted({tables[inode] for inode in _socket_inodes(pid) if inode in tables})


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    fd_dir = PROC / str(pid) / "fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return inodes  # the process is gone
    for name in names:
        try:
            target = os.readlink(fd_dir / name)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:["):-1]))
    return inodes
