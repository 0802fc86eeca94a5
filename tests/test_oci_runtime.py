"""`keel oci`: runc's command-line contract over real bundles, as root on the host (no QEMU)."""
import json
import os
import signal
import socket
import subprocess
import time

from oci import CONTAINER_INIT, KEEL, bundle, new_id  # noqa: F401 (bundle is a fixture)


def test_run_passes_the_exit_status_on(bundle):
    assert bundle.probe("exit", "7").returncode == 7
    assert bundle.probe("exit", "0").returncode == 0
    # Killed by a signal: 128 + signal, as a shell reports it. (Not PID 1
    # itself: the kernel keeps a namespace's init from its own signals.)
    assert bundle.run("/bin/sh", "-c", "keel-probe kill-self TERM; exit 0").returncode == 0
    env = dict(os.environ, KEEL_CONTAINER_INIT=CONTAINER_INIT)
    killed = bundle.run("/bin/keel-probe", "kill-self", "TERM", extra=("--init",), env=env)
    assert killed.returncode == 128 + signal.SIGTERM, killed.stderr


def test_run_leaves_nothing_behind(bundle):
    assert bundle.probe("exit", "0").returncode == 0
    assert bundle.oci("list", "--quiet").stdout.split() == []
    leftovers = [d for d in os.listdir(bundle.root) if not d.startswith(".")]
    assert leftovers == []


def test_create_start_state_kill_delete(bundle):
    bundle.set_args("/bin/keel-probe", "signals")
    bundle.write()
    cid = new_id()
    pid_file = os.path.join(bundle.path, "pid")
    with open(os.path.join(bundle.path, "out"), "w") as output:
        subprocess.run([KEEL, "oci", "--root", bundle.root, "create", "--bundle", bundle.path,
                        "--pid-file", pid_file, cid], check=True, stdin=subprocess.DEVNULL, stdout=output,
                       stderr=output, timeout=60)
    state = json.loads(bundle.oci("state", cid, check=True).stdout)
    assert state["status"] == "created"
    assert state["id"] == cid and state["bundle"] == bundle.path
    assert state["pid"] == int(open(pid_file).read())
    assert os.path.exists(f"/proc/{state['pid']}")

    bundle.oci("start", cid, check=True)
    assert json.loads(bundle.oci("state", cid).stdout)["status"] == "running"
    # Running: delete without --force is refused and names the way out.
    refused = bundle.oci("delete", cid)
    assert refused.returncode != 0 and "--force" in refused.stderr

    listed = bundle.oci("list").stdout
    assert cid in listed and "running" in listed
    bundle.oci("kill", cid, "KILL", check=True)
    for _ in range(100):
        if json.loads(bundle.oci("state", cid).stdout)["status"] == "stopped":
            break
        time.sleep(0.05)
    assert json.loads(bundle.oci("state", cid).stdout)["status"] == "stopped"
    bundle.oci("delete", cid, check=True)
    missing = bundle.oci("state", cid)
    assert missing.returncode != 0 and f'container "{cid}" does not exist' in missing.stderr


def test_delete_force_kills_a_running_container(bundle):
    bundle.set_args("/bin/keel-probe", "sleep", "60")
    cid = new_id()
    bundle.start_detached(cid)
    pid = json.loads(bundle.oci("state", cid).stdout)["pid"]
    bundle.oci("delete", "--force", cid, check=True)
    assert bundle.oci("state", cid).returncode != 0
    # Our own child (run --detach made it ours until we exit): reap it.
    for _ in range(100):
        try:
            waited, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            break
        if waited:
            break
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}/exe") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_exec_joins_the_container(bundle):
    bundle.set_args("/bin/keel-probe", "sleep", "60")
    bundle.config["hostname"] = "execbox"
    cid = new_id()
    bundle.start_detached(cid)
    try:
        out = bundle.oci("exec", cid, "/bin/keel-probe", "hostname", check=True).stdout
        assert "hostname=execbox" in out
        # Same pid namespace: the container's init is PID 1 there.
        assert "ppid=0" in bundle.oci("exec", cid, "/bin/keel-probe", "pid", check=True).stdout
        status = bundle.oci("exec", "--env", "X=1", "--cwd", "/tmp", cid, "/bin/sh", "-c",
                            'test "$X" = 1 && test "$(pwd)" = /tmp && exit 5')
        assert status.returncode == 5, status.stderr
        # The default profile applies to exec'd processes too.
        assert bundle.oci("exec", cid, "/bin/keel-probe", "try", "unshare").returncode == 1
    finally:
        bundle.oci("delete", "--force", cid)


def test_errors_name_the_problem(bundle):
    bundle.config["linux"]["namespaces"].append({"type": "bogus"})
    bundle.write()
    result = bundle.oci("run", "--bundle", bundle.path, new_id())
    assert result.returncode != 0
    assert 'unknown namespace type "bogus"' in result.stderr and "linux.namespaces[" in result.stderr

    bundle.config["linux"]["namespaces"].pop()
    bundle.config["process"]["user"]["uid"] = -1
    bundle.write()
    result = bundle.oci("run", "--bundle", bundle.path, new_id())
    assert result.returncode != 0 and "process.user.uid" in result.stderr

    bundle.config["process"]["user"]["uid"] = 0
    result = bundle.run("/bin/no-such-program")
    assert result.returncode != 0 and "/bin/no-such-program" in result.stderr

    assert bundle.oci("state", "../escape").returncode != 0
    assert "unknown signal" in bundle.oci("kill", "x", "SIGNOPE").stderr
    assert bundle.oci("frobnicate").returncode == 100


def test_unknown_fields_are_tolerated(bundle):
    bundle.config["somethingNew"] = {"x": [1, 2]}
    bundle.config["process"]["futureField"] = True
    assert bundle.probe("exit", "3").returncode == 3


def test_spec_writes_keels_defaults_and_refuses_to_overwrite(bundle):
    # The fixture already wrote one with `keel oci spec`.
    config = json.loads(open(os.path.join(bundle.path, "config.json")).read())
    assert config["process"]["noNewPrivileges"] is True
    assert config["root"]["readonly"] is True
    kinds = {n["type"] for n in config["linux"]["namespaces"]}
    assert kinds == {"pid", "network", "ipc", "uts", "mount", "cgroup"}
    assert len(config["process"]["capabilities"]["bounding"]) == 14
    assert config["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "/proc/kcore" in config["linux"]["maskedPaths"]
    again = subprocess.run([KEEL, "oci", "spec", "--bundle", bundle.path], capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr


def test_process_settings_reach_the_process(bundle):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 0o27}
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
    bundle.config["process"]["env"] = ["PATH=/bin", "GREETING=hi"]
    bundle.config["process"]["cwd"] = "/tmp"
    bundle.config["hostname"] = "boxname"
    bundle.config["domainname"] = "example.org"
    assert bundle.probe("ids", check=True).stdout.strip() == "uid=1000 gid=1000 groups=10,20 umask=0027"
    assert bundle.probe("rlimit", "NOFILE", check=True).stdout.strip() == "321 654"
    assert "GREETING=hi" in bundle.probe("env", check=True).stdout
    assert bundle.probe("cwd", check=True).stdout.strip() == "/tmp"
    assert bundle.probe("hostname", check=True).stdout.strip() == "hostname=boxname domainname=example.org"
    # PATH lookup uses the container's PATH.
    bundle.config["process"]["user"] = {"uid": 0, "gid": 0}
    assert bundle.run("keel-probe", "exit", "4").returncode == 4


def test_bind_mounts_and_readonly_root(bundle, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "file").write_text("from the host\n")
    bundle.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(shared),
                                    "options": ["rbind", "ro"]})
    bundle.config["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["size=1m"]})
    assert bundle.probe("read", "/data/file", check=True).stdout == "from the host\n"
    assert "EROFS" in bundle.probe("write", "/data/file").stdout
    # The root is read-only (keel oci spec's default), the tmpfs is not.
    assert bundle.run("/bin/touch", "/bin/new").returncode != 0
    assert bundle.run("/bin/touch", "/scratch/new").returncode == 0


def test_console_socket_gets_the_pty(bundle, tmp_path):
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    bundle.config["process"]["terminal"] = True
    bundle.set_args("/bin/keel-probe", "tty")
    bundle.write()
    cid = new_id()
    created = subprocess.Popen([KEEL, "oci", "--root", bundle.root, "run", "--console-socket", path,
                                "--bundle", bundle.path, cid], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    connection, _ = server.accept()
    message, fds, _flags, _address = socket.recv_fds(connection, 1024, 1)
    assert len(fds) == 1
    with os.fdopen(fds[0], "rb", buffering=0) as master:
        output = b""
        try:
            while b"\n" not in output:
                output += master.read(256)
        except OSError:
            pass
    assert created.wait(timeout=30) == 0, created.stderr.read()
    assert b"tty=yes /dev/pts/0" in output
    assert message.startswith(b"/dev/pts/")


def test_hooks_run_with_the_state_on_stdin(bundle, tmp_path):
    log = tmp_path / "hooks.log"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\necho \"$1 $(cat)\" >> {log}\n")
    script.chmod(0o755)
    hook = lambda kind: {"path": str(script), "args": [str(script), kind]}  # noqa: E731
    bundle.config["hooks"] = {kind: [hook(kind)] for kind in ("createRuntime", "poststart", "poststop")}
    assert bundle.probe("exit", "0").returncode == 0
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["createRuntime", "poststart", "poststop"]
    state = json.loads(lines[0].split(" ", 1)[1])
    assert state["bundle"] == bundle.path and state["pid"] > 0


def test_failing_hook_fails_create_and_cleans_up(bundle, tmp_path):
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    result = bundle.probe("exit", "0")
    assert result.returncode != 0 and "hook /bin/false exited with status 1" in result.stderr
    assert bundle.oci("list", "--quiet").stdout.split() == []


def test_container_init_reaps_and_forwards(bundle):
    # The probe's orphans are reparented to the container's PID 1, the
    # init (the shell is its child, not PID 1), which must reap them.
    out = bundle.run("/bin/sh", "-c", "echo sh-ppid=$PPID; keel-probe orphans 20 && sleep 0.5 && keel-probe zombies",
                     extra=("--init",), check=True, env=dict(os.environ, KEEL_CONTAINER_INIT=CONTAINER_INIT)).stdout
    assert "sh-ppid=1" in out and "spawned 20" in out
    assert "zombies=0" in out

    bundle.set_args("/bin/keel-probe", "signals")
    bundle.write()
    cid = new_id()
    runner = subprocess.Popen([KEEL, "oci", "--root", bundle.root, "run", "--init", "--bundle", bundle.path, cid],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ, KEEL_CONTAINER_INIT=CONTAINER_INIT))
    assert runner.stdout.readline().strip() == "ready"
    # keel oci run forwards to the container's init, which forwards to its child.
    runner.send_signal(signal.SIGUSR1)
    assert runner.stdout.readline().strip() == "got SIGUSR1"
    runner.send_signal(signal.SIGTERM)
    assert runner.stdout.readline().strip() == "got SIGTERM"
    assert runner.wait(timeout=30) == 128 + signal.SIGTERM
