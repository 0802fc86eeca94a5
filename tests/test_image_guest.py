"""`keel image` inside the QEMU guest, on Keel's own kernel: load into /var/lib/keel/user, the
overlay semantics of a layered image, and the toolbox run by `keel oci` on its overlay root."""
import os
import subprocess

import pytest

import conftest
from conftest import Guest, require_iso
from image_archives import docker_archive, rich_image, write
from oci import KEEL

HERE = os.path.dirname(os.path.abspath(__file__))
STATE_DISK = os.path.join(HERE, "..", "iso", "state-disk")
TOOLBOX = os.path.join(conftest.OUT, "images", "toolbox.tar")
ARCHIVES = "/var/lib/keel/archives"  # the state disk's contents, as the guest sees them


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    require_iso()
    for path in (KEEL, TOOLBOX):
        if not os.path.exists(path):
            pytest.skip(f"{path} not built (run make)")
    base = tmp_path_factory.mktemp("image-guest")
    archives = base / "contents" / "archives"
    archives.mkdir(parents=True)
    subprocess.run(["cp", TOOLBOX, str(archives / "toolbox.tar")], check=True)
    write(str(archives / "rich.tar"), docker_archive([rich_image()]))
    disk = str(base / "state.img")
    subprocess.run([STATE_DISK, disk, "64", str(base / "contents")], check=True)
    guest = Guest("image-guest", iso=conftest.ISO, disks=[disk])
    guest.wait_ready()
    yield guest
    guest.close()


def test_load_and_list_in_the_default_store(guest):
    out = guest.check(f"keel image load -i {ARCHIVES}/toolbox.tar", timeout=300)
    assert "Loaded image: toolbox:latest" in out
    out = guest.check(f"keel image load -i {ARCHIVES}/rich.tar", timeout=300)
    assert "Loaded image: rich:latest" in out
    listing = guest.check("keel image ls")
    assert "toolbox" in listing and "rich" in listing, listing
    assert guest.run("test -d /var/lib/keel/user/blobs/sha256 && test -f /var/lib/keel/user/index.json")[0] == 0


def test_layers_merge_as_overlayfs_on_keels_kernel(guest):
    guest.check("keel image load -q -i " + f"{ARCHIVES}/rich.tar", timeout=300)
    guest.check("mkdir -p /tmp/view && keel image mount rich /tmp/view")
    try:
        # Layer 2's whiteout deletes, its opaque marker hides layer 1's contents of the directory.
        assert guest.run("test -e /tmp/view/etc/deleted")[0] != 0
        assert guest.check("ls /tmp/view/opaque").split() == ["new", "third"]
        assert guest.check("ls /tmp/view/opaque2").split() == ["new"]
        assert guest.run("test -e /tmp/view/gone")[0] != 0
        assert guest.check("cat /tmp/view/etc/replaced").strip() == "version 2"
        assert guest.check("cat /tmp/view/etc/added").strip() == "layer 3"
        # Modes, owners, hard links, symlinks and devices as the layers hold them.
        assert guest.check("stat -c %a /tmp/view/bin/su").strip() == "4755"
        assert guest.check("stat -c %u:%g /tmp/view/data/odd-owner").strip() == "12345:54321"
        assert guest.check("stat -c %h /tmp/view/data/linked").strip() == "3"
        assert guest.check("readlink /tmp/view/bin/sh-link").strip() == "tool"
        assert guest.check("stat -c %F:%t:%T /tmp/view/dev/null").strip() == "character special file:1:3"
        # The view is read-only.
        status, out = guest.run("touch /tmp/view/new-file 2>&1")
        assert status != 0 and "Read-only" in out, out
    finally:
        guest.check("keel image umount /tmp/view")


def test_toolbox_runs_under_keel_oci_on_its_overlay_root(guest):
    guest.check(f"keel image load -q -i {ARCHIVES}/toolbox.tar", timeout=300)
    rootfs = guest.check("keel image mount --container t1 toolbox").strip()
    assert rootfs == "/var/lib/keel/user/containers/t1/rootfs"
    guest.check("mkdir -p /tmp/b/rootfs && keel oci spec --bundle /tmp/b"
                " && sed -i 's/\"readonly\": true/\"readonly\": false/' /tmp/b/config.json"
                f" && mount --bind {rootfs} /tmp/b/rootfs")
    try:
        status, out = guest.run("echo 'echo hello from toolbox; echo written > /written; busybox | head -1'"
                                " | keel oci run --bundle /tmp/b t1", timeout=300)
        assert status == 0, out
        assert "hello from toolbox" in out and "BusyBox" in out, out
        # The write went to the container's upper directory, not to the image's layer.
        assert guest.check("cat /var/lib/keel/user/containers/t1/upper/written").strip() == "written"
    finally:
        guest.run("umount /tmp/b/rootfs")
        guest.check("keel image umount --container t1")
    assert guest.run("test -e /var/lib/keel/user/containers/t1")[0] != 0
