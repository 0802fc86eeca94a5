"""The real docker CLI against the engine daemon (`docker -H unix://SOCK`), as root on the host: version,
load, images, run (output, exit codes, -d, -i, --rm), ps, logs, exec, stop, rm, inspect; each CLI found
(Debian's docker.io at /usr/bin/docker, a newer one at /usr/local/bin/docker) runs them all, and what it
prints is checked on the lines it prints against Docker."""
import json
import os
import re
import subprocess

import pytest

from daemon import API_VERSION, daemon_fixture, wait_for
from image_archives import TOOLBOX, docker_archive, small_image, write

DOCKERS = [path for path in ("/usr/bin/docker", "/usr/local/bin/docker") if os.access(path, os.X_OK)]
HEX64 = re.compile(r"^[0-9a-f]{64}$")

daemon = daemon_fixture("daemon-docker")


def version_of(path):
    result = subprocess.run([path, "--version"], capture_output=True, text=True)
    match = re.search(r"version (\d+\.\d+)", result.stdout)
    return match.group(1) if match else "unknown"


class Docker:
    """One docker CLI pointed at the daemon, with a config directory of its own (no contexts, no hints)."""

    def __init__(self, path, daemon, config_dir):
        self.path = path
        self.daemon = daemon
        self.version = version_of(path)
        self.tag = "d" + self.version.replace(".", "")  # names of its containers: web-d2010, ...
        os.makedirs(config_dir, exist_ok=True)
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(config_dir),
                    "DOCKER_CONFIG": str(config_dir), "DOCKER_CLI_HINTS": "false", "LANG": "C.UTF-8"}

    def __call__(self, *args, input=None, timeout=60, check=False):
        # On timeout subprocess kills with SIGKILL: docker run forwards SIGTERM to the container and goes on.
        result = subprocess.run([self.path, "-H", self.daemon.host, *args], capture_output=True, text=True,
                                env=self.env, input=input, timeout=timeout,
                                stdin=None if input is not None else subprocess.DEVNULL)
        if check:
            assert result.returncode == 0, f"docker {' '.join(args)} exited {result.returncode}: {result.stderr}"
        return result

    def name(self, base):
        return f"{base}-{self.tag}"


@pytest.fixture(params=DOCKERS or [None], ids=lambda path: f"{path}" if path else "no-docker")
def docker(request, daemon, tmp_path):
    if request.param is None:
        pytest.skip("no docker CLI: install Debian's docker.io (tests/packages.txt)")
    daemon.ensure_running()
    cli = Docker(request.param, daemon, tmp_path / "docker-config")
    yield cli
    daemon.remove_all_containers()  # what a failed test left does not fail the next
    daemon.assert_alive()


def table(text):
    """A docker table: (header cells, rows of cells), cells split on runs of 2+ spaces."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "empty table"
    split = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return split[0], split[1:]


def test_version(docker):
    result = docker("version", check=True)
    server = result.stdout.split("Server:", 1)
    assert len(server) == 2, result.stdout
    assert re.search(r"^ Engine:$", server[1], re.MULTILINE), server[1]
    assert re.search(rf"^  API version:\s+{re.escape(API_VERSION)} \(minimum version 1\.24\)$", server[1],
                     re.MULTILINE), server[1]
    assert re.search(r"^  OS/Arch:\s+linux/amd64$", server[1], re.MULTILINE), server[1]
    # The client negotiated down to the engine's version.
    assert re.search(rf"^ API version:\s+{re.escape(API_VERSION)}\b", server[0], re.MULTILINE), server[0]
    assert docker("version", "--format", "{{.Server.APIVersion}}", check=True).stdout == API_VERSION + "\n"
    assert result.stderr == ""


def test_load_and_images(docker, tmp_path):
    result = docker("load", "-i", TOOLBOX, check=True)
    assert result.stdout == "Loaded image: toolbox:latest\n", result.stdout
    image = small_image("small:" + docker.tag, marker=docker.tag)
    archive = write(tmp_path / "small.tar", docker_archive([image]))
    result = docker("load", "-i", archive, check=True)
    assert result.stdout == f"Loaded image: small:{docker.tag}\n"
    # From stdin as well.
    with open(archive, "rb") as f:
        piped = subprocess.run([docker.path, "-H", docker.daemon.host, "load"], stdin=f, capture_output=True,
                               text=True, env=docker.env, timeout=120)
    assert piped.returncode == 0 and piped.stdout == f"Loaded image: small:{docker.tag}\n", piped

    header, rows = table(docker("images", check=True).stdout)
    assert header == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], header
    toolbox = [row for row in rows if row[:2] == ["toolbox", "latest"]]
    assert len(toolbox) == 1, rows
    inspected = json.loads(docker("image", "inspect", "toolbox", check=True).stdout)
    assert toolbox[0][2] == inspected[0]["Id"][7:19]
    assert re.match(r"^\d+(\.\d+)?[kMG]?B$", toolbox[0][4]), toolbox[0]
    assert [row for row in rows if row[:2] == ["small", docker.tag]]
    assert docker("images", "-q", "small", check=True).stdout == image.id[7:19] + "\n"

    removed = docker("rmi", "small:" + docker.tag, check=True).stdout.splitlines()
    assert removed == [f"Untagged: small:{docker.tag}", f"Deleted: {image.id}"], removed
    missing = docker("rmi", "small:" + docker.tag)
    assert missing.returncode == 1 and "No such image" in missing.stderr, missing.stderr


def test_run_output_and_exit_codes(docker):
    result = docker("run", "--rm", "toolbox", "echo", "hello")
    assert (result.returncode, result.stdout, result.stderr) == (0, "hello\n", ""), result
    result = docker("run", "--rm", "toolbox", "sh", "-c", "echo to-stderr >&2; exit 7")
    assert (result.returncode, result.stdout, result.stderr) == (7, "", "to-stderr\n"), result
    result = docker("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "65534", "toolbox", "sh", "-c",
                    "echo $FOO $(pwd) $(id -u)")
    assert result.stdout == "bar /tmp 65534\n", result
    # --rm removed them all.
    assert docker("ps", "-aq", check=True).stdout == ""


def test_run_missing_command(docker):
    result = docker("run", "--rm", "toolbox", "nonexistent-command")
    assert result.returncode == 127, result
    assert result.stdout == ""
    # docker: Error response from daemon: ... "nonexistent-command": executable file not found in $PATH ...
    # docker 20.10 may first log its own "error waiting for container: context canceled" (a race
    # in the CLI between its wait and the failed start; it does the same against dockerd).
    assert any(line.startswith("docker: Error response from daemon: ")
               for line in result.stderr.splitlines()), result.stderr
    assert "nonexistent-command" in result.stderr
    assert "executable file not found" in result.stderr or "no such file or directory" in result.stderr
    result = docker("run", "--rm", "toolbox", "/etc/passwd")
    assert result.returncode == 126, result
    result = docker("run", "--rm", "no-such-image-here", "true")
    assert result.returncode == 125, result
    assert "no-such-image-here" in result.stderr
    assert docker("ps", "-aq", check=True).stdout == ""


def test_run_with_stdin(docker):
    result = docker("run", "-i", "--rm", "toolbox", "cat", input="data\n")
    assert (result.returncode, result.stdout) == (0, "data\n"), result
    big = "".join(f"line {i}\n" for i in range(20000))
    result = docker("run", "-i", "--rm", "toolbox", "wc", "-l", input=big)
    assert result.stdout.strip() == "20000", result


def test_detached_ps_logs_exec_stop_rm(docker):
    web = docker.name("web")
    result = docker("run", "-d", "--name", web, "toolbox", "sleep", "300", check=True)
    cid = result.stdout.strip()
    assert HEX64.match(cid), result.stdout

    header, rows = table(docker("ps", check=True).stdout)
    assert header == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], header
    [row] = [row for row in rows if row[-1] == web]
    assert row[0] == cid[:12] and row[1] == "toolbox" and row[2] == '"sleep 300"', row
    assert row[3].endswith("ago") and row[4].startswith("Up "), row
    assert docker("ps", "-q", "--filter", f"name={web}", check=True).stdout == cid[:12] + "\n"

    result = docker("exec", web, "echo", "hi")
    assert (result.returncode, result.stdout) == (0, "hi\n"), result
    result = docker("exec", web, "sh", "-c", "exit 3")
    assert result.returncode == 3, result
    result = docker("exec", "-i", web, "cat", input="through exec\n")
    assert result.stdout == "through exec\n", result

    assert docker("stop", "-t", "1", web, check=True).stdout == web + "\n"
    inspected = json.loads(docker("inspect", web, check=True).stdout)
    assert isinstance(inspected, list) and len(inspected) == 1
    state = inspected[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137, state
    assert inspected[0]["Name"] == "/" + web and inspected[0]["Id"] == cid
    assert docker("inspect", "--format", "{{.State.ExitCode}}", web, check=True).stdout == "137\n"
    header, rows = table(docker("ps", "-a", check=True).stdout)
    [row] = [row for row in rows if row[-1] == web]
    assert row[4].startswith("Exited (137)"), row

    assert docker("rm", web, check=True).stdout == web + "\n"
    missing = docker("inspect", web)
    assert missing.returncode == 1 and ("No such object" in missing.stderr or "No such container" in missing.stderr)


def test_exec_missing_command(docker):
    web = docker.name("exec-missing")
    docker("run", "-d", "--name", web, "toolbox", "sleep", "300", check=True)
    # Docker: the start is hijacked, the error written into the stream, and the exec's ExitCode is
    # 126 (20.10) or 127: the CLI exits with it.
    result = docker("exec", web, "nonexistent-command")
    assert result.returncode in (126, 127), result
    assert "nonexistent-command" in result.stdout + result.stderr, result


def test_logs(docker):
    printer = docker.name("printer")
    # Pauses between the lines: the order of lines across two pipes is the reader's otherwise.
    docker("run", "-d", "--name", printer, "toolbox", "sh", "-c", "echo one; sleep 0.2; echo two >&2; sleep 0.2; "
           "echo three", check=True)
    assert docker("wait", printer, check=True).stdout == "0\n"
    result = docker("logs", printer, check=True)
    assert result.stdout == "one\nthree\n" and result.stderr == "two\n", result
    assert docker("logs", "--tail", "1", printer, check=True).stdout == "three\n"
    stamped = docker("logs", "-t", printer, check=True).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["one", "three"], stamped
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", stamped[0].split(" ", 1)[0]), stamped
    docker("rm", printer, check=True)


def test_rm_force_and_conflicts(docker):
    name = docker.name("busy")
    docker("run", "-d", "--name", name, "toolbox", "sleep", "300", check=True)
    again = docker("run", "-d", "--name", name, "toolbox", "true")
    assert again.returncode == 125 and name in again.stderr, again.stderr
    refused = docker("rm", name)
    assert refused.returncode == 1 and "Error response from daemon" in refused.stderr, refused
    assert docker("rm", "-f", name, check=True).stdout == name + "\n"
    assert docker("ps", "-aq", check=True).stdout == ""


def test_restart_and_kill(docker):
    name = docker.name("restarted")
    docker("run", "-d", "--name", name, "toolbox", "sleep", "300", check=True)
    pid = docker("inspect", "--format", "{{.State.Pid}}", name, check=True).stdout
    assert docker("restart", "-t", "1", name, check=True).stdout == name + "\n"
    assert docker("inspect", "--format", "{{.State.Pid}}", name, check=True).stdout != pid
    assert docker("kill", name, check=True).stdout == name + "\n"
    wait_for(lambda: docker("inspect", "--format", "{{.State.Running}}", name).stdout == "false\n",
             what="the container killed")
    docker("rm", name, check=True)


def test_host_config_flags(docker, tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "f").write_text("host file\n")
    # No --memory or --pids-limit here: this host's cgroup v2 has no controllers (test_daemon_api.py
    # checks the config the daemon writes for them).
    result = docker("run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL",
                    "-v", f"{tmp_path / 'shared'}:/shared:ro", "--init",
                    "toolbox", "sh", "-c", "cat /shared/f; grep CapEff /proc/self/status; "
                    "touch /x 2>/dev/null || echo ro; tr '\\0' ' ' < /proc/1/cmdline")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "host file" and lines[1].split() == ["CapEff:", "0000000000000000"] and lines[2] == "ro", lines
    assert "init" in lines[3].split()[0], lines
