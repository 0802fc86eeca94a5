"""Fixtures for Keel's system tests: boot the ISO in QEMU and drive its console."""
import os
import re
import sys
import uuid

import pexpect
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

OUT = os.environ.get("KEEL_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out"))
OUT = os.path.abspath(OUT)
ISO = os.path.join(OUT, "keel.iso")
BOOT_DIR = os.path.join(OUT, "iso", "root", "boot")
LOGS = os.path.join(OUT, "tests", "logs")
# Guest time under TCG is slow and the build host may be busy: generous, never asserted.
BOOT_TIMEOUT = 240
# busybox line editing asks the terminal for the cursor position after the prompt.
PROMPT = r"[#$] (\x1b\[6n)?"


class Guest:
    """One QEMU boot with its serial console under pexpect."""

    def __init__(self, name, **qemu_args):
        os.makedirs(LOGS, exist_ok=True)
        argv = qemu.command(**qemu_args)
        self.name = name
        self.log_path = os.path.join(LOGS, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                                   timeout=BOOT_TIMEOUT, dimensions=(50, 500))
        self.child.logfile_read = self.log

    def expect(self, pattern, timeout=BOOT_TIMEOUT):
        """Wait for a regex on the console; a panic, a sysinit failure or QEMU's
        exit fails at once (a test expecting a failure names it in pattern)."""
        index = self.child.expect([pattern, r"Kernel panic[^\r\n]*", r"sysinit: FAILED: [^\r\n]*",
                                   pexpect.EOF], timeout=timeout)
        if index in (1, 2):
            raise AssertionError(f"{self.name}: {self.child.after} (log {self.log_path})")
        if index == 3:
            raise AssertionError(f"{self.name}: QEMU exited while waiting for {pattern!r} (log {self.log_path})")
        return self.child.match

    def console_so_far(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def wait_ready(self):
        self.expect(r"keel: system ready")
        self.expect(PROMPT, timeout=60)

    def run(self, command, timeout=120):
        """Run a shell command on the console; return (exit status, output)."""
        tag = uuid.uuid4().hex[:10]
        # The markers are quoted on the command line, so its echo cannot match them.
        self.child.sendline(f"echo {tag}'B'; {command}; echo {tag}'E' $?")
        self.expect(f"{tag}B\r*\n", timeout)
        match = self.expect(rf"{tag}E (\d+)\r*\n", timeout)
        output = self.child.before.replace("\r", "")
        return int(match.group(1)), output

    def check(self, command, timeout=120):
        """Run a command that must succeed; return its output."""
        status, output = self.run(command, timeout)
        assert status == 0, f"{command!r} exited {status}: {output}"
        return output

    def wait_exit(self, timeout=BOOT_TIMEOUT):
        """Wait for QEMU to exit by itself (poweroff, or reboot under -no-reboot)."""
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.child.wait()
        return self.child.exitstatus

    def close(self):
        if self.child.isalive():
            self.child.terminate(force=True)
        self.log.close()


def require_iso():
    if not os.path.exists(ISO):
        pytest.skip(f"{ISO} not built (run make)")


@pytest.fixture
def boot(request):
    """Factory: boot(name, **qemu_args) -> Guest, shut down after the test."""
    require_iso()
    guests = []

    def start(name=None, **qemu_args):
        qemu_args.setdefault("iso", ISO)
        guest = Guest(name or request.node.name, **qemu_args)
        guests.append(guest)
        return guest

    yield start
    for guest in guests:
        guest.close()


@pytest.fixture(scope="session")
def guest():
    """One BIOS boot from CD shared by the tests that only look around."""
    require_iso()
    shared = Guest("shared-bios-cdrom", iso=ISO)
    shared.wait_ready()
    yield shared
    shared.close()


def grep(pattern, text):
    return re.search(pattern, text, re.MULTILINE)
