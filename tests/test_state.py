"""With a KEEL_STATE disk, /var/lib/keel is persistent across reboots."""
import os
import subprocess
import uuid

from conftest import grep

STATE_DISK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "iso", "state-disk")


def test_file_under_var_lib_keel_survives_reboot(boot, tmp_path):
    disk = str(tmp_path / "state.img")
    subprocess.run([STATE_DISK, disk, "64"], check=True)
    token = uuid.uuid4().hex

    first = boot("state-first", disks=[disk])
    first.wait_ready()
    assert "state partition /dev/vda1 (label KEEL_STATE) mounted at /var/lib/keel" in first.console_so_far()
    assert grep(r"^/dev/vda1 /var/lib/keel ext4 rw", first.check("cat /proc/self/mounts"))
    first.check(f"echo {token} > /var/lib/keel/survivor")
    first.child.sendline("keelos reboot")
    assert first.wait_exit() == 0
    assert "keel: filesystems unmounted" in first.console_so_far()

    second = boot("state-second", disks=[disk])
    second.wait_ready()
    assert second.check("cat /var/lib/keel/survivor").strip() == token
    # Cleanly unmounted the first time: no journal recovery was needed.
    assert "recovery complete" not in second.console_so_far()

