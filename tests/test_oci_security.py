"""Security regressions of `keel oci` (as root on the host): each test attacks one known class of runtime escape."""
import hashlib
import json
import os
import subprocess

import pytest

from oci import KEEL, bundle, new_id  # noqa: F401 (bundle is a fixture)

# Docker's 14 default capabilities as /proc/PID/status shows them.
DOCKER_CAPABILITIES = 0x00000000A80425FB


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} missing from {text!r}")


def test_no_fd_but_stdio_reaches_the_container(bundle):
    # An fd this process leaves inheritable must not get through.
    leak = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    os.set_inheritable(leak, True)
    try:
        out = bundle.probe("fds", check=True, pass_fds=(leak,)).stdout
    finally:
        os.close(leak)
    fds = sorted(int(line.split()[0]) for line in out.splitlines())
    assert fds == [0, 1, 2], out


def test_preserved_fds_are_the_only_extra_ones(bundle, tmp_path):
    kept = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        # fd 3 in the runtime only (pytest holds its own fd 3 here).
        out = bundle.probe("fds", extra=("--preserve-fds", "1"), check=True, pass_fds=(3,),
                           preexec_fn=lambda: os.dup2(kept, 3)).stdout
    finally:
        os.close(kept)
    fds = sorted(int(line.split()[0]) for line in out.splitlines())
    assert fds == [0, 1, 2, 3], out
    assert str(tmp_path) in out


@pytest.mark.parametrize("fd", range(3, 12))
def test_cwd_through_proc_self_fd_does_not_escape(bundle, fd):
    # CVE-2024-21626: a cwd of /proc/self/fd/N naming one of the runtime's
    # own fds put the process in the host's tree.
    bundle.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
    result = bundle.probe("cwd")
    if result.returncode == 0:
        where = result.stdout.strip()
        assert where.startswith("/") and "(unreachable)" not in where
        assert os.path.isdir(os.path.join(bundle.rootfs, where.lstrip("/"))) or where.startswith("/proc")
    else:
        assert "cwd" in result.stderr, result.stderr


def test_engine_binary_cannot_be_written_from_inside(bundle):
    # CVE-2019-5736: the container writing the runtime's binary through
    # /proc/PID/exe. Here the process exec'd from the rootfs: its exe is the
    # probe, busy; and no process in the container is an image of keel.
    before = hashlib.sha256(open(KEEL, "rb").read()).hexdigest()
    assert "ETXTBSY" in bundle.probe("write", "/proc/self/exe").stdout
    bundle.set_args("/bin/keel-probe", "sleep", "60")
    cid = new_id()
    bundle.start_detached(cid)
    try:
        # While exec'd processes come and go, a hunter inside tries every
        # /proc/*/exe it can see for writing.
        hunt = ("for i in 1 2 3 4 5 6 7 8 9 10; do for e in /proc/[0-9]*/exe; do "
                "keel-probe write $e; done; done; true")
        hunter = subprocess.Popen([KEEL, "oci", "--root", bundle.root, "exec", cid, "/bin/sh", "-c", hunt],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(10):
            bundle.oci("exec", cid, "/bin/true")
        out, _ = hunter.communicate(timeout=120)
        assert " ok" not in out, out
    finally:
        bundle.oci("delete", "--force", cid)
    assert hashlib.sha256(open(KEEL, "rb").read()).hexdigest() == before


def test_container_init_is_a_sealed_copy(bundle):
    env = dict(os.environ, KEEL_CONTAINER_INIT=os.path.join(os.path.dirname(KEEL), "..", "libexec", "keel",
                                                             "container-init"))
    out = bundle.run("/bin/keel-probe", "write", "/proc/1/exe", extra=("--init",), env=env).stdout
    assert "errno=" in out and " ok" not in out, out


def test_mount_destination_symlink_stays_inside_the_rootfs(bundle, tmp_path):
    # CVE-2021-30465 class: a destination that is a symlink pointing out.
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(f"/../../../../../../{outside}", os.path.join(bundle.rootfs, "escape"))
    bundle.config["mounts"].append({"destination": "/escape", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["size=1m"]})
    result = bundle.run("/bin/touch", "/escape/written")
    assert not os.path.exists(outside / "written")
    assert result.returncode == 0, result.stderr
    # It went to <rootfs>/<outside path>, inside the root.
    assert os.path.isdir(os.path.join(bundle.rootfs, str(outside).lstrip("/")))


def test_masked_path_symlink_is_resolved_inside(bundle):
    # CVE-2025-31133 class: a masked path that is a symlink to somewhere
    # else must mask the target inside the root, never a host file.
    os.makedirs(os.path.join(bundle.rootfs, "secret"), exist_ok=True)
    with open(os.path.join(bundle.rootfs, "secret", "key"), "w") as f:
        f.write("hidden\n")
    os.symlink("/../../../../secret/key", os.path.join(bundle.rootfs, "masklink"))
    bundle.config["linux"]["maskedPaths"].append("/masklink")
    assert bundle.probe("read", "/secret/key", check=True).stdout == ""


def test_dev_null_for_masking_must_be_the_real_one(bundle):
    # Without a /dev tmpfs, /dev comes from the rootfs: a /dev/null there that
    # points at a procfs file must not be bind-mounted as "the" null device.
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if not m["destination"].startswith("/dev")]
    bundle.config["linux"]["devices"] = []
    os.symlink("/proc/sys/kernel/core_pattern", os.path.join(bundle.rootfs, "dev", "null"))
    result = bundle.probe("write", "/proc/kcore")
    assert result.returncode != 0
    assert "null" in result.stderr or "errno=" in result.stdout


@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_rootfs_with_a_fake_proc_is_refused(bundle, tmp_path, kind):
    proc = os.path.join(bundle.rootfs, "proc")
    os.rmdir(proc)
    if kind == "symlink":
        os.symlink("/tmp", proc)
    else:
        open(proc, "w").close()
    result = bundle.probe("exit", "0")
    assert result.returncode != 0
    assert "/proc" in result.stderr, result.stderr


def test_proc_must_be_procfs(bundle):
    # A config without a proc mount leaves the rootfs's plain /proc
    # directory, whose files the runtime would otherwise write (sysctl,
    # oom_score_adj): refused.
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["type"] != "proc"]
    os.makedirs(os.path.join(bundle.rootfs, "proc", "self"), exist_ok=True)
    result = bundle.probe("exit", "0")
    assert result.returncode != 0 and "/proc" in result.stderr, result.stderr


@pytest.mark.parametrize("operation", ["unshare", "unshare-user", "mount", "keyctl", "add_key", "bpf",
                                       "kexec_load", "socket-vsock", "socket-alg", "clone-newns",
                                       "chroot-unprivileged"])
def test_default_profile_refuses(bundle, operation):
    if operation == "chroot-unprivileged":
        # chroot needs CAP_SYS_CHROOT, which Docker keeps: refused once dropped.
        caps = bundle.config["process"]["capabilities"]
        for name in caps:
            caps[name] = [c for c in caps[name] if c != "CAP_SYS_CHROOT"]
        operation = "chroot"
    result = bundle.probe("try", operation)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "errno=" in result.stdout


def test_default_profile_lets_ordinary_programs_run(bundle):
    for operation in ("socket-inet", "personality-query", "clone3"):
        result = bundle.probe("try", operation)
        if operation == "clone3":
            # Docker's profile answers clone3 with ENOSYS so libcs fall back to clone.
            assert "ENOSYS" in result.stdout or result.returncode == 0, result.stdout
        else:
            assert result.returncode == 0, result.stdout
    assert bundle.run("/bin/sh", "-c", "echo hi | cat; ls / >/dev/null").returncode == 0


def test_capabilities_are_exactly_the_requested_set(bundle):
    status = bundle.probe("status", check=True).stdout
    assert int(status_field(status, "CapEff"), 16) == DOCKER_CAPABILITIES
    assert int(status_field(status, "CapPrm"), 16) == DOCKER_CAPABILITIES
    assert int(status_field(status, "CapBnd"), 16) == DOCKER_CAPABILITIES
    assert int(status_field(status, "CapInh"), 16) == 0
    assert int(status_field(status, "CapAmb"), 16) == 0
    caps = bundle.config["process"]["capabilities"]
    for name in ("bounding", "effective", "permitted"):
        caps[name] = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
    status = bundle.probe("status", check=True).stdout
    assert int(status_field(status, "CapEff"), 16) == (1 << 10) | (1 << 5)
    assert int(status_field(status, "CapBnd"), 16) == (1 << 10) | (1 << 5)


def test_no_new_privs_and_seccomp_are_on(bundle):
    status = bundle.probe("status", check=True).stdout
    assert status_field(status, "NoNewPrivs") == "1"
    assert status_field(status, "Seccomp") == "2"


def test_masked_paths_read_empty(bundle):
    masked = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list") if os.path.exists(p)]
    assert masked, "this kernel has none of the masked /proc files"
    for path in masked:
        assert open(path, "rb").read(1) != b"" or path == "/proc/kcore"  # the host sees content
        assert bundle.probe("read", path, check=True).stdout == "", path
    assert bundle.run("/bin/ls", "-A", "/sys/firmware", check=True).stdout == ""
    # Read-only paths: /proc/sys cannot be written even as root with caps.
    assert "EROFS" in bundle.probe("write", "/proc/sys/kernel/hostname").stdout
    if os.path.exists("/proc/sysrq-trigger"):
        assert "EROFS" in bundle.probe("write", "/proc/sysrq-trigger").stdout


def test_device_allowlist(bundle):
    # CAP_MKNOD is a default capability: the cgroup's device filter is what
    # keeps a container from a disk node it makes itself.
    result = bundle.run("/bin/sh", "-c", "busybox mknod /dev/disk b 7 0 && keel-probe read /dev/disk")
    assert result.returncode != 0
    assert "EPERM" in result.stdout, result.stdout + result.stderr
    # The allowed ones work.
    assert bundle.probe("read", "/dev/null").returncode == 0


def test_default_devices_exist(bundle):
    for node, rdev in (("/dev/null", "1:3"), ("/dev/zero", "1:5"), ("/dev/full", "1:7"), ("/dev/random", "1:8"),
                       ("/dev/urandom", "1:9"), ("/dev/tty", "5:0")):
        out = bundle.probe("stat", node, check=True).stdout
        assert "type=char" in out and f"rdev={rdev}" in out, out
    assert "type=symlink" in bundle.probe("stat", "/dev/ptmx", check=True).stdout
    assert bundle.run("/bin/readlink", "/dev/fd", check=True).stdout.strip() == "/proc/self/fd"
