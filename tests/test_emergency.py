"""sysinit never panics: a broken OS image gives the emergency shell and a clear
message; keel.shell drops there on purpose and exiting it continues the boot."""
import os
import re
import subprocess

import pytest

from conftest import BOOT_DIR, OUT, PROMPT

INITRAMFS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "iso", "initramfs")


def kernel():
    path = os.path.join(BOOT_DIR, "vmlinuz")
    if not os.path.exists(path):
        pytest.skip(f"{path} not built (run make)")
    return path


def make_initrd(tmp_path, sqfs):
    initrd = str(tmp_path / "initrd.img")
    subprocess.run([INITRAMFS, initrd, os.path.join(OUT, "sysinit", "init"), sqfs], check=True)
    return initrd


def test_broken_os_image_gives_emergency_shell(boot, tmp_path):
    broken = tmp_path / "usr.sqfs"
    broken.write_bytes(b"this is not a squashfs image\n" * 4096)
    guest = boot("broken-image", kernel=kernel(), initrd=make_initrd(tmp_path, str(broken)),
                 append="console=ttyS0 panic=-1")
    # The whole message is read once the next line has come: read sooner, the
    # line may be only partly there, and a kernel message (the loop
    # device's) may land in the middle of it on the shared console.
    guest.child.expect("sysinit: dropping to the emergency shell", timeout=120)
    match = re.search(r"sysinit: FAILED: (.*?Invalid argument)", guest.child.before, re.S)
    assert match, guest.child.before[-2000:]
    message = re.sub(r"\r?\n\[ *[0-9.]+\] [^\r\n]*", "", match.group(1))
    # The message names the step, the object and the reason.
    assert "mount OS image /keel/usr.sqfs" in message, message
    assert "squashfs" in message, message
    guest.expect(PROMPT, timeout=60)
    assert guest.check("echo alive").strip().endswith("alive")
    assert "keel: system ready" not in guest.console_so_far()
    # Leaving the shell gives another one, never a panic.
    guest.child.sendline("exit")
    guest.expect("starting another")
    guest.expect(PROMPT, timeout=60)
    assert guest.check("echo still-alive").strip().endswith("still-alive")


def test_keel_shell_drops_to_shell_then_boot_continues(boot, tmp_path):
    guest = boot("keel-shell", kernel=kernel(), initrd=os.path.join(BOOT_DIR, "initrd.img"),
                 append="console=ttyS0 panic=-1 keel.shell")
    guest.expect("keel.shell given")
    guest.expect(PROMPT, timeout=60)
    assert "keel" in guest.check("ls /newroot/usr/bin/keel")
    guest.child.sendline("exit")
    guest.wait_ready()
    assert guest.check("cat /proc/1/comm").strip() == "keel"
