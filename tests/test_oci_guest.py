"""`keel oci` inside the QEMU guest, where cgroup v2 has its controllers: memory (OOM), pids, cpu weight, devices."""
import json
import os
import subprocess

import pytest

import conftest
from conftest import Guest, require_iso
from oci import KEEL, PROBE, make_rootfs

STATE_DISK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "iso", "state-disk")
GUEST_BUNDLES = "/var/lib/keel/bundles"


def write_bundle(base, name, configure):
    """BASE/NAME: a bundle made with the host's `keel oci spec`, changed by configure(config)."""
    path = os.path.join(base, name)
    os.makedirs(path)
    make_rootfs(os.path.join(path, "rootfs"))
    subprocess.run([KEEL, "oci", "spec", "--bundle", path], check=True)
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    configure(config)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def oom(config):
    config["process"]["args"] = ["/bin/keel-probe", "alloc", "256"]
    config["linux"]["resources"]["memory"] = {"limit": 32 * 1024 * 1024, "swap": 32 * 1024 * 1024}


def pids(config):
    config["process"]["args"] = ["/bin/keel-probe", "forks", "40"]
    config["linux"]["resources"]["pids"] = {"limit": 10}


def cpu(config):
    config["process"]["args"] = ["/bin/keel-probe", "sleep", "600"]
    config["linux"]["resources"]["cpu"] = {"shares": 1024, "quota": 50000, "period": 100000}


@pytest.fixture(scope="module")
def guest_with_bundles(tmp_path_factory):
    require_iso()
    for path in (KEEL, PROBE):
        if not os.path.exists(path):
            pytest.skip(f"{path} not built (run make)")
    base = tmp_path_factory.mktemp("guest-bundles")
    contents = base / "contents"
    bundles = contents / "bundles"
    bundles.mkdir(parents=True)
    for name, configure in (("oom", oom), ("pids", pids), ("cpu", cpu)):
        write_bundle(str(bundles), name, configure)
    disk = str(base / "state.img")
    subprocess.run([STATE_DISK, disk, "64", str(contents)], check=True)
    guest = Guest("oci-guest", iso=conftest.ISO, disks=[disk])
    guest.wait_ready()
    yield guest
    guest.close()


def test_memory_limit_oom_kill_is_reported(guest_with_bundles):
    guest = guest_with_bundles
    status, out = guest.run(f"keel oci run --keep --bundle {GUEST_BUNDLES}/oom oom 2>&1", timeout=300)
    assert status == 128 + 9, out
    assert "killed for lack of memory (OOM)" in out
    assert "allocated 256" not in out
    state = json.loads(guest.check("keel oci state oom"))
    assert state["status"] == "stopped"
    assert state.get("oomKilled") is True, state
    guest.check("keel oci delete oom")
    assert guest.run("test -d /sys/fs/cgroup/keel/oom")[0] != 0


def test_pids_limit_stops_forks(guest_with_bundles):
    guest = guest_with_bundles
    out = guest.check(f"keel oci run --bundle {GUEST_BUNDLES}/pids pids", timeout=300)
    forked = int(out.split("forked ")[1].split()[0])
    # The probe itself is one of the 10.
    assert forked <= 9, out
    assert "EAGAIN" in out


def test_cpu_weight_and_max_are_written(guest_with_bundles):
    guest = guest_with_bundles
    guest.check(f"keel oci run --detach --bundle {GUEST_BUNDLES}/cpu cpu </dev/null >/dev/null 2>&1")
    try:
        # shares 1024 → weight 1 + (1022 × 9999) / 262142 = 39, as runc and crun convert.
        assert guest.check("cat /sys/fs/cgroup/keel/cpu/cpu.weight").strip() == "39"
        assert guest.check("cat /sys/fs/cgroup/keel/cpu/cpu.max").strip() == "50000 100000"
        state = json.loads(guest.check("keel oci state cpu"))
        assert state["status"] == "running"
        procs = guest.check("cat /sys/fs/cgroup/keel/cpu/cgroup.procs").split()
        assert str(state["pid"]) in procs
    finally:
        guest.check("keel oci delete --force cpu")
    assert guest.run("test -d /sys/fs/cgroup/keel/cpu")[0] != 0


def test_device_filter_in_the_guest(guest_with_bundles):
    guest = guest_with_bundles
    # The cpu bundle's config has the default device allowlist; CAP_MKNOD
    # lets the container make a disk's node, the filter keeps it closed.
    guest.check(f"keel oci run --detach --bundle {GUEST_BUNDLES}/cpu dev </dev/null >/dev/null 2>&1")
    try:
        status, out = guest.run("keel oci exec dev /bin/sh -c 'busybox mknod /dev/vd b 254 0 && "
                                "keel-probe read /dev/vd' 2>&1")
        assert status != 0 and "EPERM" in out, out
        assert guest.run("keel oci exec dev keel-probe read /dev/null")[0] == 0
    finally:
        guest.check("keel oci delete --force dev")
