"""The engines inside the QEMU guest: PID 1 serves the system engine's API on /run/system-keel.sock;
a user engine (`keel daemon`) runs containers whose limits land in real cgroup v2 controllers."""
import os
import subprocess

import pytest

import conftest
from conftest import Guest, require_iso
from oci import KEEL

HERE = os.path.dirname(os.path.abspath(__file__))
STATE_DISK = os.path.join(HERE, "..", "iso", "state-disk")
TOOLBOX = os.path.join(conftest.OUT, "images", "toolbox.tar")
ARCHIVES = "/var/lib/keel/archives"


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    require_iso()
    for path in (KEEL, TOOLBOX):
        if not os.path.exists(path):
            pytest.skip(f"{path} not built (run make)")
    base = tmp_path_factory.mktemp("daemon-guest")
    archives = base / "contents" / "archives"
    archives.mkdir(parents=True)
    subprocess.run(["cp", TOOLBOX, str(archives / "toolbox.tar")], check=True)
    disk = str(base / "state.img")
    subprocess.run([STATE_DISK, disk, "64", str(base / "contents")], check=True)
    guest = Guest("daemon-guest", iso=conftest.ISO, disks=[disk])
    guest.wait_ready()
    yield guest
    guest.close()


def test_pid1_serves_the_system_engine(guest):
    mode = guest.check("stat -c %A /run/system-keel.sock").strip()
    assert mode == "srw-rw----", mode
    out = guest.check("keel -H unix:///run/system-keel.sock version")
    assert "Server: Keel" in out and "1.41" in out, out
    # system-keel as argv[0] aims at the system engine.
    out = guest.check("ln -sf /usr/bin/keel /tmp/system-keel && /tmp/system-keel info")
    assert "Server Version" in out, out


def test_user_engine_runs_containers_with_cgroup_limits(guest):
    guest.check("(keel daemon > /tmp/daemon.log 2>&1 &)")
    guest.check("for i in $(seq 50); do test -S /run/keel.sock && break; sleep 0.2; done; test -S /run/keel.sock")
    out = guest.check(f"keel load -i {ARCHIVES}/toolbox.tar", timeout=300)
    assert "Loaded image: toolbox:latest" in out, out
    out = guest.check("keel run --rm --memory 64m --pids-limit 20 toolbox "
                      "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max", timeout=300)
    assert out.split() == ["67108864", "20"], out
    status, out = guest.run("keel run --rm toolbox sh -c 'echo from the guest; exit 5'", timeout=300)
    assert status == 5 and "from the guest" in out, out
    guest.check("keel run -d --name sleeper toolbox sleep 300", timeout=300)
    assert "sleeper" in guest.check("keel ps")
    assert guest.check("keel exec sleeper echo inside").strip() == "inside"
    guest.check("keel rm -f sleeper", timeout=120)
    assert "sleeper" not in guest.check("keel ps -a")
