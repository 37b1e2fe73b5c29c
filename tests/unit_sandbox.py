"""Run a command inside the system-call sandbox a unit file asks for, emulated with libseccomp:

    python tests/unit_sandbox.py systemd/speaker.service COMMAND...

It applies the unit's SystemCallFilter= (groups expanded by `systemd-analyze syscall-filter`),
RestrictAddressFamilies= and MemoryDenyWriteExecute=, with refused calls failing as
SystemCallErrorNumber= says, then executes COMMAND. Without systemd as PID 1 this is how the tests
learn whether the hardening breaks the speaker (it found that MemoryDenyWriteExecute stops
sounddevice from playing)."""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import subprocess
import sys

PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
CMP_EQ, CMP_MASKED_EQ = 4, 7
MEMORY_CALLS = ("mmap", "mmap2", "mprotect", "pkey_mprotect", "shmat")


class Compare(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def syscall_groups() -> dict[str, list[str]]:
    listing = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True).stdout
    groups: dict[str, list[str]] = {}
    for line in listing.splitlines():
        if line.startswith("@"):
            members = groups.setdefault(line.strip(), [])
        elif line.strip() and not line.strip().startswith("#"):
            members.append(line.strip())
    return groups


def expand(names: list[str], groups: dict[str, list[str]]) -> set[str]:
    calls: set[str] = set()
    for name in names:
        calls |= expand(groups[name], groups) if name.startswith("@") else {name}
    return calls


def unit_sandbox(unit_text: str) -> tuple[set[str], set[int], bool, int]:
    """(allowed system calls, allowed address families, memory W^X, errno for refusals) from a unit."""
    groups = syscall_groups()
    allowed: set[str] = set()
    families: set[int] = set()
    deny_write_execute, refusal = False, errno.EPERM
    for line in unit_text.splitlines():
        key, _, value = line.partition("=")
        if key == "SystemCallFilter":
            if value.startswith("~"):
                allowed -= expand(value[1:].split(), groups)
            else:
                allowed |= expand(value.split(), groups)
        elif key == "RestrictAddressFamilies":
            if value.startswith("~"):
                raise ValueError("only allow-lists of address families are emulated")
            families |= {getattr(socket, name) for name in value.split()}
        elif key == "MemoryDenyWriteExecute":
            deny_write_execute = value == "yes"
        elif key == "SystemCallErrorNumber":
            refusal = getattr(errno, value)
    return allowed, families, deny_write_execute, refusal


def apply(allowed: set[str], families: set[int], deny_write_execute: bool, refusal: int) -> None:
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(Compare)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    context = lib.seccomp_init(ERRNO | refusal)

    def allow(name: str, *conditions: Compare) -> None:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:  # not a system call on this architecture
            return
        array = (Compare * len(conditions))(*conditions) if conditions else None
        if lib.seccomp_rule_add_array(context, ALLOW, number, len(conditions), array) != 0:
            raise RuntimeError(f"seccomp refused a rule for {name}")

    for name in allowed - {"socket", *MEMORY_CALLS}:
        allow(name)
    if "socket" in allowed:
        for family in families:
            allow("socket", Compare(0, CMP_EQ, family, 0))
    for name in set(MEMORY_CALLS) & allowed:
        if not deny_write_execute:
            allow(name)
        elif name in ("mmap", "mmap2"):
            for protection in (0, PROT_WRITE, PROT_EXEC):  # never both
                allow(name, Compare(2, CMP_MASKED_EQ, PROT_WRITE | PROT_EXEC, protection))
        elif name == "shmat":
            allow(name, Compare(2, CMP_MASKED_EQ, SHM_EXEC, 0))
        else:
            allow(name, Compare(2, CMP_MASKED_EQ, PROT_EXEC, 0))
    if lib.seccomp_load(context) != 0:
        raise RuntimeError("could not load the seccomp filter")


if __name__ == "__main__":
    unit, command = sys.argv[1], sys.argv[2:]
    with open(unit, encoding="utf-8") as f:
        apply(*unit_sandbox(f.read()))
    os.execvp(command[0], command)
