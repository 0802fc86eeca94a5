"""The ISO boots to `keel: system ready` under BIOS and UEFI, from CD and raw disk,
and what a user then finds on the console."""
import pytest

from conftest import grep


def test_console_shell_runs_a_command(guest):
    status, output = guest.run("echo hello $((6 * 7))")
    assert status == 0
    assert output.strip().splitlines()[-1] == "hello 42"


def test_failing_command_reports_its_status(guest):
    status, _ = guest.run("false")
    assert status == 1


def test_pid1_is_keel(guest):
    assert guest.check("cat /proc/1/comm").strip() == "keel"
    assert guest.check("tr '\\0' ' ' < /proc/1/cmdline").strip() == "keel init"


def test_root_is_tmpfs_with_readonly_os_image_at_usr(guest):
    mounts = guest.check("cat /proc/self/mounts")
    assert grep(r"^\S+ / tmpfs ", mounts), mounts
    assert grep(r"^/dev/loop\d+ /usr squashfs ro[,\s]", mounts), mounts
    status, output = guest.run("touch /usr/written-by-test")
    assert status != 0 and "Read-only file system" in output


def test_etc_laid_down_from_the_image_skeleton(guest):
    assert guest.check("cat /etc/hostname").strip() == "keel"
    assert guest.check("hostname").strip() == "keel"
    assert 'NAME="Keel"' in guest.check("cat /etc/os-release")
    # /etc is writable (tmpfs root), unlike /usr.
    guest.check("echo x > /etc/written-by-test && rm /etc/written-by-test")


def test_cgroup2_is_mounted_with_controllers(guest):
    mounts = guest.check("cat /proc/self/mounts")
    assert grep(r"^\S+ /sys/fs/cgroup cgroup2 ", mounts), mounts
    controllers = guest.check("cat /sys/fs/cgroup/cgroup.controllers").split()
    for controller in ("cpu", "memory", "pids", "cpuset"):
        assert controller in controllers


def test_serial_and_vga_consoles_both_have_a_shell(guest):
    active = guest.check("cat /sys/class/tty/console/active").split()
    assert "ttyS0" in active and "tty0" in active
    # A shell runs on each: its stdin is the console's tty.
    ttys = guest.check("for p in /proc/[0-9]*; do [ \"$(cat $p/comm)\" = sh ] && readlink $p/fd/0; done; true")
    assert "/dev/ttyS0" in ttys and "/dev/tty1" in ttys, ttys


def vga_screen(guest):
    """The text on the VGA console (tty1), as a user at the screen reads it."""
    return guest.check("cat /dev/vcs1; echo")


def test_vga_screen_shows_the_boot_too(guest):
    screen = vga_screen(guest)
    # Every line after sysinit's first (printed before /sys, which lists the
    # consoles, is mounted) reaches the screen as well as the serial port.
    for line in ("sysinit: no partition labelled KEEL_STATE", "sysinit: exec /usr/bin/keel init",
                 "keel: console shell on tty1 started", "keel: system ready"):
        assert line in screen, f"{line!r} not on the VGA screen: {screen!r}"


def test_console_lines_carry_boot_stamps(guest):
    console = guest.console_so_far()
    assert grep(r"^\[\s*\d+\.\d{6}\] sysinit: start", console), "sysinit line without stamp"
    assert grep(r"^\[\s*\d+\.\d{6}\] keel: system ready", console), "keel line without stamp"


def test_without_state_disk_var_lib_keel_is_tmpfs(guest):
    assert "no partition labelled KEEL_STATE: /var/lib/keel is a tmpfs" in guest.console_so_far()
    assert grep(r"^\S+ /var/lib/keel tmpfs ", guest.check("cat /proc/self/mounts"))


@pytest.mark.parametrize("firmware,media", [("uefi", "cdrom"), ("bios", "disk"), ("uefi", "disk")])
def test_boots_to_ready(boot, firmware, media):
    guest = boot(f"boot-{firmware}-{media}", firmware=firmware, media=media)
    guest.wait_ready()
    assert guest.check("cat /proc/1/comm").strip() == "keel"
    if firmware == "uefi":
        assert guest.run("test -d /sys/firmware/efi")[0] == 0, "booted without EFI"
        # No VGA text mode under UEFI: the screen is the EFI framebuffer console.
        assert guest.run("test -e /sys/class/graphics/fb0")[0] == 0, "no EFI framebuffer"
        assert "tty0" in guest.check("cat /sys/class/tty/console/active").split()
        assert "keel: system ready" in vga_screen(guest)
    else:
        assert guest.run("test -d /sys/firmware/efi")[0] != 0, "BIOS boot shows EFI"
