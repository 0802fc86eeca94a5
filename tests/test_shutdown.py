"""Orderly shutdown: `keelos poweroff|reboot|halt`, signals and ctrl-alt-del."""
import pytest

from conftest import grep

ORDERLY = [r"keel: sent SIGTERM to \d+ processes", r"keel: all processes stopped",
           r"keel: filesystems unmounted"]


def assert_orderly(console, final):
    position = 0
    for line in ORDERLY + [final]:
        match = grep(line, console[position:])
        assert match, f"console lacks {line!r} after position {position}"
        position += match.end()
    assert "Kernel panic" not in console


@pytest.mark.parametrize("verb,final,kernel", [
    ("poweroff", "keel: powering off", "reboot: Power down"),
    ("reboot", "keel: rebooting", "reboot: Restarting system"),
])
def test_keelos_shutdown_is_orderly_and_qemu_exits(boot, verb, final, kernel):
    guest = boot(f"keelos-{verb}")
    guest.wait_ready()
    guest.child.sendline(f"keelos {verb}")
    assert guest.wait_exit() == 0
    console = guest.console_so_far()
    assert_orderly(console, final)
    assert kernel in console


def test_halt_stops_the_machine(boot):
    guest = boot("keelos-halt")
    guest.wait_ready()
    guest.child.sendline("keelos halt")
    guest.expect("System halted")
    assert_orderly(guest.console_so_far(), "keel: halting")


def test_process_ignoring_sigterm_is_killed_after_grace(boot):
    guest = boot("sigterm-ignored")
    guest.wait_ready()
    # Deaf to SIGTERM and SIGHUP: only the SIGKILL after the grace period stops it.
    guest.check("(trap '' TERM HUP; exec sleep 100000) > /dev/null 2>&1 & true")
    assert guest.check("cat /proc/[0-9]*/comm | grep -c '^sleep$'").strip() == "1"
    guest.child.sendline("keelos poweroff")
    assert guest.wait_exit() == 0
    console = guest.console_so_far()
    assert grep(r"keel: sent SIGKILL to [1-9]\d* process", console), "no SIGKILL after the grace period"
    assert_orderly(console, "keel: powering off")


def test_ctrl_alt_del_reboots(boot):
    guest = boot("ctrl-alt-del")
    guest.wait_ready()
    # QEMU's monitor (Ctrl-A c) presses the keys on the emulated keyboard.
    guest.child.send("\x01c")
    guest.expect(r"\(qemu\)")
    guest.child.sendline("sendkey ctrl-alt-delete")
    guest.child.send("\x01c")
    guest.expect("requested by SIGINT")
    assert guest.wait_exit() == 0
    assert_orderly(guest.console_so_far(), "keel: rebooting")


def test_keelos_refuses_unknown_command(guest):
    status, output = guest.run("keelos explode")
    assert status == 100
    assert "explode" in output
