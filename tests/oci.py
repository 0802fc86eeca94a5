"""Helpers for the OCI runtime's host tests: bundles over a busybox + keel-probe rootfs, and `keel oci` runs."""
import json
import os
import shutil
import subprocess
import uuid

import pytest

OUT = os.path.abspath(os.environ.get("KEEL_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out")))
KEEL = os.path.join(OUT, "bin", "keel")
PROBE = os.path.join(OUT, "tests", "bin", "keel-probe")
CONTAINER_INIT = os.path.join(OUT, "libexec", "keel", "container-init")
BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "true", "false", "cat", "ls", "sleep", "echo", "mkdir", "touch", "readlink", "stat", "id"]


def require_runtime():
    """Skip, saying why, when this host cannot run the runtime's tests."""
    if os.geteuid() != 0:
        pytest.skip("needs root: containers are created with namespaces and mounts")
    for path in (KEEL, PROBE):
        if not os.path.exists(path):
            pytest.skip(f"{path} not built (run make)")
    if not os.path.exists(BUSYBOX):
        pytest.skip(f"{BUSYBOX} missing (Debian's busybox-static)")


def make_rootfs(path):
    """A minimal rootfs: static busybox with a few applets and the probe."""
    for directory in ("bin", "proc", "sys", "dev", "tmp", "etc", "mnt", "run"):
        os.makedirs(os.path.join(path, directory), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for applet in APPLETS:
        os.symlink("busybox", os.path.join(path, "bin", applet))
    shutil.copy(PROBE, os.path.join(path, "bin", "keel-probe"))
    with open(os.path.join(path, "etc", "hostname"), "w") as f:
        f.write("inside\n")
    return path


class Bundle:
    """One bundle (config.json + rootfs) and a state root of its own."""

    def __init__(self, base):
        self.path = os.path.join(base, "bundle")
        self.rootfs = os.path.join(self.path, "rootfs")
        self.root = os.path.join(base, "state")
        os.makedirs(self.path)
        make_rootfs(self.rootfs)
        subprocess.run([KEEL, "oci", "spec", "--bundle", self.path], check=True)
        with open(os.path.join(self.path, "config.json")) as f:
            self.config = json.load(f)
        # Keel's own cgroup per test, removed with the container.
        self.config["linux"].pop("cgroupsPath", None)

    def write(self):
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=2)

    def set_args(self, *args):
        self.config["process"]["args"] = list(args)

    def oci(self, *args, check=False, timeout=60, **kwargs):
        """Run `keel oci --root STATE ARGS...`; returns CompletedProcess (text)."""
        result = subprocess.run([KEEL, "oci", "--root", self.root, *args], capture_output=True, text=True,
                                timeout=timeout, **kwargs)
        if check:
            assert result.returncode == 0, f"keel oci {' '.join(args)} exited {result.returncode}: {result.stderr}"
        return result

    def run(self, *args, extra=(), check=False, **kwargs):
        """Write the config with process.args = args and `keel oci run` it."""
        if args:
            self.set_args(*args)
        self.write()
        return self.oci("run", *extra, "--bundle", self.path, new_id(), check=check, **kwargs)

    def start_detached(self, cid, *extra, env=None):
        """`keel oci run --detach`: the container keeps the stdio it is given,
        so give it files, not our pipes (whose readers would wait for it)."""
        self.write()
        log = os.path.join(self.path, f"{cid}.log")
        with open(log, "w") as output:
            result = subprocess.run([KEEL, "oci", "--root", self.root, "run", "--detach", *extra,
                                     "--bundle", self.path, cid], stdin=subprocess.DEVNULL, stdout=output,
                                    stderr=output, timeout=60, env=env)
        assert result.returncode == 0, open(log).read()
        return log

    def probe(self, *args, **kwargs):
        return self.run("/bin/keel-probe", *args, **kwargs)


def new_id():
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def bundle(tmp_path):
    require_runtime()
    made = Bundle(str(tmp_path))
    yield made
    # Anything a failed test left behind.
    listed = made.oci("list", "--quiet")
    for container in listed.stdout.split():
        made.oci("delete", "--force", container)
