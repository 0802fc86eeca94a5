"""Keel's own client (`keel -H unix://SOCK VERB`, KEEL_HOST, `system-keel` as argv[0]) against the engine
daemon, as root on the host: docker's verbs and flags, exit codes (125, 126, 127, the container's), tables
for people and --format json for programs."""
import json
import os
import re
import subprocess

import pytest

from daemon import API_VERSION, KEEL, daemon_fixture, wait_for
from image_archives import TOOLBOX, docker_archive, small_image, write

daemon = daemon_fixture("daemon-client")

HEX64 = re.compile(r"^[0-9a-f]{64}$")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")


@pytest.fixture
def keel(daemon):
    daemon.ensure_running()
    yield daemon.client
    daemon.remove_all_containers()
    daemon.assert_alive()


def ok(result):
    assert result.returncode == 0, f"exited {result.returncode}: {result.stderr}"
    return result.stdout


def table(text):
    lines = [line for line in text.splitlines() if line.strip()]
    split = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return split[0], split[1:]


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def clean_env(**extra):
    env = {key: value for key, value in os.environ.items() if key not in ("KEEL_HOST", "DOCKER_HOST")}
    env.update(extra)
    return env


# ---------------------------------------------------------------- choosing the engine

def test_host_option_and_environment(keel, daemon):
    assert ok(keel("version", "--format", "{{.Server.APIVersion}}")) == API_VERSION + "\n"
    assert ok(keel("--host", daemon.host, "ps", "-q", host=False)) == ""
    assert ok(keel("--host=" + daemon.host, "ps", "-q", host=False)) == ""
    result = keel("ps", "-q", host=False, env=clean_env(KEEL_HOST=daemon.host))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    # -H wins over KEEL_HOST.
    result = keel("ps", "-q", env=clean_env(KEEL_HOST="unix:///nonexistent/keel.sock"))
    assert result.returncode == 0, result.stderr


def test_unreachable_engine(tmp_path):
    from daemon import require_daemon
    require_daemon()
    result = subprocess.run([KEEL, "-H", f"unix://{tmp_path}/none.sock", "ps"], capture_output=True, text=True,
                            env=clean_env(), stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result
    assert f"{tmp_path}/none.sock" in result.stderr and "daemon running" in result.stderr, result.stderr
    result = subprocess.run([KEEL, "-H", "tcp://127.0.0.1:2375", "ps"], capture_output=True, text=True,
                            env=clean_env(), stdin=subprocess.DEVNULL)
    assert result.returncode != 0 and "tcp://" in result.stderr, result


def test_system_keel_as_argv0(tmp_path):
    from daemon import require_daemon
    require_daemon()
    if os.path.exists("/run/system-keel.sock"):
        pytest.skip("a system engine listens on /run/system-keel.sock here: the error path cannot be seen")
    link = tmp_path / "system-keel"
    link.symlink_to(KEEL)
    result = subprocess.run([str(link), "ps"], capture_output=True, text=True, env=clean_env(),
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result
    assert "/run/system-keel.sock" in result.stderr and "daemon running" in result.stderr, result.stderr
    assert result.stdout == ""
    result = subprocess.run([str(link), "run", "--rm", "toolbox", "true"], capture_output=True, text=True,
                            env=clean_env(), stdin=subprocess.DEVNULL)
    assert result.returncode == 125, result
    assert "/run/system-keel.sock" in result.stderr


# ---------------------------------------------------------------- images

def test_load_images_rmi(keel, daemon, tmp_path):
    result = keel("load", "-i", TOOLBOX)
    assert (result.returncode, result.stdout, result.stderr) == (0, "Loaded image: toolbox:latest\n", ""), result
    image = small_image("small:latest", marker="client")
    archive = write(tmp_path / "small.tar", docker_archive([image]))
    with open(archive, "rb") as f:
        piped = subprocess.run([KEEL, "-H", daemon.host, "load"], stdin=f, capture_output=True, text=True)
    assert (piped.returncode, piped.stdout) == (0, "Loaded image: small:latest\n"), piped

    header, rows = table(ok(keel("images")))
    assert header == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], header
    assert [row[:3] for row in rows if row[0] == "small"] == [["small", "latest", image.id[7:19]]]
    listed = json_lines(ok(keel("images", "--format", "json")))
    [small] = [entry for entry in listed if entry["Repository"] == "small"]
    assert small["Tag"] == "latest" and small["ID"] == image.id[7:19], small
    assert any(entry["Repository"] == "toolbox" and entry["Tag"] == "latest" for entry in listed)
    assert ok(keel("images", "-q", "small")) == image.id[7:19] + "\n"
    assert ok(keel("images", "--format", "{{.Repository}}:{{.Tag}}", "small")) == "small:latest\n"

    assert ok(keel("rmi", "small")).splitlines() == ["Untagged: small:latest", f"Deleted: {image.id}"]
    missing = keel("rmi", "small")
    assert missing.returncode == 1 and "No such image" in missing.stderr and "small" in missing.stderr, missing
    # An image in use needs -f.
    keel("create", "--name", "user-of-toolbox", "toolbox", "true")
    refused = keel("rmi", "toolbox")
    assert refused.returncode == 1 and "Error response from daemon" in refused.stderr, refused


def test_info_and_version(keel, daemon):
    text = ok(keel("info"))
    assert "Server Version" in text and "Containers" in text, text
    info = json.loads(ok(keel("info", "--format", "{{json .}}")))
    assert info["OSType"] == "linux" and info["NCPU"] == os.cpu_count()
    assert ok(keel("info", "--format", "{{.Name}}")).strip() == info["Name"]
    text = ok(keel("version"))
    assert "Client" in text and "Server" in text and API_VERSION in text, text
    version = json.loads(ok(keel("version", "--format", "{{json .}}")))
    assert version["Server"]["ApiVersion"] == API_VERSION, version
    assert ok(keel("--version")).strip()


# ---------------------------------------------------------------- run and its exit codes

def test_run_output_and_exit_codes(keel):
    result = keel("run", "--rm", "toolbox", "echo", "hello")
    assert (result.returncode, result.stdout, result.stderr) == (0, "hello\n", ""), result
    result = keel("run", "--rm", "toolbox", "sh", "-c", "echo err >&2; exit 7")
    assert (result.returncode, result.stdout, result.stderr) == (7, "", "err\n"), result
    assert ok(keel("ps", "-aq")) == ""


@pytest.mark.parametrize("args, code, words", [
    (["--rm", "toolbox", "nonexistent-command"], 127, ["nonexistent-command"]),
    (["--rm", "toolbox", "/etc/passwd"], 126, ["/etc/passwd"]),
    (["--rm", "toolbox", "/etc"], 126, ["/etc"]),
    (["--rm", "no-such-image", "true"], 125, ["no-such-image"]),
    (["--rm", "--bogus-flag", "toolbox", "true"], 125, ["bogus-flag"]),
    (["--rm", "--memory", "lots", "toolbox", "true"], 125, ["lots"]),
    (["--restart", "sometimes", "toolbox", "true"], 125, ["sometimes"]),
    (["--rm", "--restart", "always", "toolbox", "true"], 125, ["--restart", "--rm"]),
    (["--rm", "--network", "nonsense", "toolbox", "true"], 125, ["nonsense"]),
])
def test_run_failures(keel, args, code, words):
    result = keel("run", *args)
    assert result.returncode == code, result
    for word in words:
        assert word in result.stderr, result.stderr
    assert result.stdout == ""
    assert ok(keel("ps", "-aq")) == ""


def test_run_options(keel, daemon, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "f").write_text("from the host\n")
    result = keel("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "65534", "-v", f"{shared}:/shared",
                  "toolbox", "sh", "-c", "echo $FOO $(pwd) $(id -u); cat /shared/f")
    assert ok(result) == "bar /tmp 65534\nfrom the host\n", result
    ok(keel("run", "--rm", "-v", f"{shared}:/shared", "toolbox", "sh", "-c", "echo made > /shared/g"))
    assert (shared / "g").read_text() == "made\n"
    result = keel("run", "--rm", "-v", f"{shared}:/shared:ro", "toolbox", "sh", "-c", "echo no > /shared/h")
    assert result.returncode != 0 and not (shared / "h").exists(), result
    assert ok(keel("run", "--rm", "--entrypoint", "/bin/echo", "toolbox", "a", "b")) == "a b\n"
    assert ok(keel("run", "--rm", "--network", "none", "toolbox", "cat", "/proc/net/dev")).count(":") == 1
    with open("/proc/net/dev") as dev:
        host_lines = dev.read().count(":")
    assert ok(keel("run", "--rm", "--network", "host", "toolbox", "cat", "/proc/net/dev")).count(":") == host_lines
    result = keel("run", "--rm", "--read-only", "toolbox", "touch", "/x")
    assert result.returncode == 1 and "Read-only" in result.stderr, result
    caps = ok(keel("run", "--rm", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "toolbox", "grep", "CapEff",
                   "/proc/self/status"))
    assert caps.split() == ["CapEff:", f"{1 << 12:016x}"], caps
    privileged = ok(keel("run", "--rm", "--privileged", "toolbox", "grep", "Seccomp:", "/proc/self/status"))
    assert privileged.split() == ["Seccomp:", "0"], privileged
    init = ok(keel("run", "--rm", "--init", "toolbox", "sh", "-c", "echo $$"))
    assert init != "1\n"
    # Memory and pids limits land in the OCI config (this host's cgroup v2 has no controllers to read back).
    cid = ok(keel("create", "--memory", "64m", "--pids-limit", "50", "toolbox", "true")).strip()
    with open(os.path.join(daemon.root, "engine", cid, "config.json")) as f:
        resources = json.load(f)["linux"]["resources"]
    assert resources["memory"]["limit"] == 64 << 20 and resources["pids"]["limit"] == 50, resources


def test_run_interactive(keel):
    result = keel("run", "-i", "--rm", "toolbox", "cat", input="data\n")
    assert (result.returncode, result.stdout) == (0, "data\n"), result
    result = keel("run", "-i", "--rm", "toolbox", "sh", input="echo from a script; exit 4\n")
    assert (result.returncode, result.stdout) == (4, "from a script\n"), result


# ---------------------------------------------------------------- detached containers

def test_detached_lifecycle(keel):
    cid = ok(keel("run", "-d", "--name", "web", "toolbox", "sleep", "300")).strip()
    assert HEX64.match(cid)
    header, rows = table(ok(keel("ps")))
    assert header == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], header
    [row] = rows
    assert row[0] == cid[:12] and row[1] == "toolbox" and row[2] == '"sleep 300"' and row[-1] == "web", row
    assert row[4].startswith("Up "), row
    assert ok(keel("ps", "-q")) == cid[:12] + "\n"
    assert ok(keel("ps", "-q", "--no-trunc")) == cid + "\n"
    [entry] = json_lines(ok(keel("ps", "--format", "json")))
    assert entry["Names"] == "web" and entry["ID"] == cid[:12] and entry["State"] == "running", entry

    result = keel("exec", "web", "echo", "hi")
    assert (result.returncode, result.stdout) == (0, "hi\n"), result
    assert keel("exec", "web", "sh", "-c", "exit 3").returncode == 3
    assert ok(keel("exec", "-i", "web", "cat", input="via exec\n")) == "via exec\n"
    assert ok(keel("exec", "-e", "X=1", "-w", "/tmp", "-u", "65534", "web", "sh", "-c", "echo $X $(pwd) $(id -u)")) \
        == "1 /tmp 65534\n"

    inspected = json.loads(ok(keel("inspect", "web")))
    assert isinstance(inspected, list) and inspected[0]["Id"] == cid and inspected[0]["State"]["Running"] is True
    assert ok(keel("inspect", "--format", "{{.Name}} {{.State.Status}}", "web")) == "/web running\n"

    assert ok(keel("restart", "-t", "1", "web")) == "web\n"
    assert ok(keel("stop", "-t", "1", "web")) == "web\n"
    assert ok(keel("inspect", "--format", "{{.State.ExitCode}}", "web")) == "137\n"
    assert ok(keel("ps", "-q")) == ""
    header, rows = table(ok(keel("ps", "-a")))
    assert rows[0][4].startswith("Exited (137)"), rows
    assert ok(keel("ps", "-aq")) == cid[:12] + "\n"
    assert ok(keel("rm", "web")) == "web\n"
    missing = keel("inspect", "web")
    assert missing.returncode == 1 and "web" in missing.stderr, missing


def test_exec_missing_command(keel):
    ok(keel("run", "-d", "--name", "exec-missing", "toolbox", "sleep", "300"))
    result = keel("exec", "exec-missing", "nonexistent-command")
    assert result.returncode == 127, result
    # As with dockerd, the failure comes on the exec's stream (stdout), then its exit status.
    assert "nonexistent-command" in result.stdout + result.stderr, result


def test_rm_force_kill_and_errors(keel):
    ok(keel("run", "-d", "--name", "busy", "toolbox", "sleep", "300"))
    refused = keel("rm", "busy")
    assert refused.returncode == 1 and refused.stderr.startswith("Error response from daemon:"), refused
    conflict = keel("run", "-d", "--name", "busy", "toolbox", "true")
    assert conflict.returncode == 125 and "busy" in conflict.stderr, conflict
    assert ok(keel("kill", "busy")) == "busy\n"
    assert ok(keel("wait", "busy")) == "137\n"
    not_running = keel("kill", "busy")
    assert not_running.returncode == 1 and "not running" in not_running.stderr, not_running
    ok(keel("start", "busy"))
    assert ok(keel("rm", "-f", "busy")) == "busy\n"
    for verb in ("stop", "kill", "rm", "restart", "logs", "inspect"):
        result = keel(verb, "nothere")
        assert result.returncode == 1 and "nothere" in result.stderr, (verb, result)


def test_logs(keel):
    ok(keel("run", "-d", "--name", "printer", "toolbox", "sh", "-c",
            "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three"))
    assert ok(keel("wait", "printer")) == "0\n"
    result = keel("logs", "printer")
    assert (result.stdout, result.stderr) == ("one\nthree\n", "two\n"), result
    assert ok(keel("logs", "--tail", "1", "printer")) == "three\n"
    stamped = ok(keel("logs", "-t", "printer")).splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["one", "three"]
    assert all(STAMP.match(line.split(" ", 1)[0]) for line in stamped), stamped
    # -f follows a running container until its output ends.
    ok(keel("run", "-d", "--name", "ticker", "toolbox", "sh", "-c", "for i in 1 2 3; do echo t$i; sleep 0.3; done"))
    assert ok(keel("logs", "-f", "ticker")) == "t1\nt2\nt3\n"


def test_restart_policy(keel):
    ok(keel("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "toolbox", "sh", "-c", "exit 1"))
    wait_for(lambda: keel("inspect", "--format", "{{.RestartCount}} {{.State.Running}} {{.State.Restarting}}",
                          "flaky").stdout == "2 false false\n", timeout=30, what="two restarts, then rest")


def test_create_and_start(keel):
    cid = ok(keel("create", "--name", "later", "toolbox", "sh", "-c", "echo started")).strip()
    assert HEX64.match(cid)
    assert ok(keel("inspect", "--format", "{{.State.Status}}", "later")) == "created\n"
    result = keel("start", "-a", "later")
    assert (result.returncode, result.stdout) == (0, "started\n"), result
