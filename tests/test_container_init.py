"""container-init passes the program's exit status on, forwards signals to it and reaps
orphans. Run on the host (no QEMU), where it is a subreaper instead of PID 1, with
keel-probe as the program."""
import fcntl
import os
import select
import signal
import subprocess
import termios
import time

import pytest

from conftest import OUT

CONTAINER_INIT = os.path.join(OUT, "libexec", "keel", "container-init")
PROBE = os.path.join(OUT, "tests", "bin", "keel-probe")
SHELL = "/bin/sh"
# A wedged process fails the test instead of hanging it; never a speed assertion.
TIMEOUT = 30


@pytest.fixture(autouse=True)
def require_binaries():
    for binary, directory in ((CONTAINER_INIT, "engine/container-init"), (PROBE, "tests/probe")):
        if not os.access(binary, os.X_OK):
            pytest.skip(f"{binary} not built (make -C {directory} O={OUT})")


def run(*args, **popen_args):
    return subprocess.run([CONTAINER_INIT, *args], capture_output=True, text=True, timeout=TIMEOUT,
                          **popen_args)


def start(*args):
    """container-init in the background, its stdout a raw pipe read line by line."""
    return subprocess.Popen([CONTAINER_INIT, *args], stdout=subprocess.PIPE, bufsize=0)


def read_line(process):
    ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
    assert ready, f"no output from container-init within {TIMEOUT} s"
    return process.stdout.readline().decode().rstrip("\n")


def stop(process):
    """SIGTERM first: container-init forwards it, so the program ends too
    instead of being left to the host's init."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(timeout=TIMEOUT)
    process.stdout.close()


def process_status(pid):
    """/proc/PID/status as a dict; None once the process is gone (reaped)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return dict(line.rstrip("\n").split(":\t", 1) for line in status if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        return None


def children_of(pid):
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            status = process_status(entry)
            if status is not None and status["PPid"] == str(pid):
                children.append(int(entry))
    return children


def test_exit_status_is_passed_on():
    assert run("--", PROBE, "exit", "7").returncode == 7
    assert run("--", PROBE, "exit", "0").returncode == 0
    # "--" is optional when the program does not start with "-".
    assert run(PROBE, "exit", "3").returncode == 3


@pytest.mark.parametrize("name, number", [("TERM", 15), ("KILL", 9), ("INT", 2)])
def test_program_killed_by_a_signal_gives_128_plus_the_signal(name, number):
    assert run("--", PROBE, "kill-self", name).returncode == 128 + number


def test_program_inherits_no_descriptor_of_container_init():
    result = run("--", PROBE, "fds", stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["0", "1", "2"]


def test_signals_are_forwarded_to_the_program():
    init = start("--", PROBE, "signals")
    try:
        assert read_line(init) == "ready"
        for name in ("USR1", "HUP", "WINCH"):
            init.send_signal(getattr(signal, f"SIG{name}"))
            assert read_line(init) == f"got SIG{name}"
        assert init.poll() is None, "container-init exited on a signal the program survives"
        init.send_signal(signal.SIGTERM)
        assert read_line(init) == "got SIGTERM"
        assert init.wait(timeout=TIMEOUT) == 128 + signal.SIGTERM
    finally:
        stop(init)


def test_program_runs_in_its_own_process_group():
    init = start("--", PROBE, "signals")
    try:
        assert read_line(init) == "ready"
        [program] = children_of(init.pid)
        assert os.getpgid(program) == program
        assert os.getpgid(init.pid) != program
    finally:
        stop(init)


def test_program_is_the_foreground_process_group_of_the_terminal():
    terminal, stdin = os.openpty()

    def take_terminal():
        # A new session (start_new_session) whose controlling tty is stdin.
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    init = subprocess.Popen([CONTAINER_INIT, "--", PROBE, "signals"], stdin=stdin, stdout=subprocess.PIPE,
                            bufsize=0, start_new_session=True, preexec_fn=take_terminal)
    try:
        assert read_line(init) == "ready"
        [program] = children_of(init.pid)
        with open(f"/proc/{program}/stat") as stat:
            foreground_group = int(stat.read().rsplit(")", 1)[1].split()[5])
        assert foreground_group == program
    finally:
        stop(init)
        os.close(terminal)
        os.close(stdin)


def test_program_gets_default_dispositions_and_the_original_mask():
    def inherited_signal_state():
        # As a careless parent might leave them: SIGCHLD ignored would make
        # the kernel reap the program and lose its status.
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})

    result = run("--", PROBE, "read", "/proc/self/status", preexec_fn=inherited_signal_state)
    assert result.returncode == 0, result.stderr
    status = dict(line.split(":\t", 1) for line in result.stdout.splitlines() if ":\t" in line)
    assert int(status["SigIgn"], 16) == 0
    assert int(status["SigBlk"], 16) == 1 << (signal.SIGUSR2 - 1)
    assert run("--", PROBE, "exit", "5", preexec_fn=inherited_signal_state).returncode == 5


def test_orphans_are_reparented_to_container_init_and_reaped():
    # The inner shell prints the pid of a probe it leaves behind and exits:
    # the probe is an orphan, and container-init its nearest subreaper.
    init = start("--", SHELL, "-c", f'{SHELL} -c "{PROBE} sleep 2 & echo \\$!"; exec {PROBE} sleep 5')
    try:
        orphan = int(read_line(init))
        deadline = time.monotonic() + TIMEOUT
        # Until the inner shell has exited, the orphan is still its child.
        while (status := process_status(orphan)) is not None and status["PPid"] != str(init.pid):
            assert time.monotonic() < deadline, f"orphan {orphan} not reparented: {status}"
            time.sleep(0.02)
        assert status is not None, f"orphan {orphan} was gone before it was seen reparented"
        while process_status(orphan) is not None:
            assert time.monotonic() < deadline, f"orphan {orphan} never reaped: {process_status(orphan)}"
            time.sleep(0.1)
        # Gone while container-init still ran: it reaped the orphan itself.
        assert init.poll() is None
        assert init.wait(timeout=TIMEOUT) == 0
    finally:
        stop(init)


def test_storm_of_orphans_leaves_no_zombie():
    # Only zombies whose parent is container-init ($PPID of the shell) count:
    # the host may have zombies of its own.
    script = f"{PROBE} orphans 50 && {PROBE} sleep 0.5 && {PROBE} zombies $PPID"
    result = run("--", SHELL, "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["spawned 50", "zombies=0"]


def test_probe_counts_zombies():
    # So that "zombies=0" above cannot pass with a probe that counts nothing.
    zombie = subprocess.Popen([PROBE, "exit", "0"])
    try:
        deadline = time.monotonic() + TIMEOUT
        while process_status(zombie.pid)["State"][0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        result = subprocess.run([PROBE, "zombies", str(os.getpid())], capture_output=True, text=True,
                                timeout=TIMEOUT)
        assert result.stdout.strip() == "zombies=1"
    finally:
        zombie.wait(timeout=TIMEOUT)


def test_exec_failure_names_the_program(tmp_path):
    missing = str(tmp_path / "no-such-program")
    result = run("--", missing)
    assert result.returncode == 127
    assert result.stderr == f"container-init: exec {missing}: No such file or directory\n"

    not_executable = tmp_path / "not-executable"
    not_executable.write_text("#!/bin/sh\n")
    not_executable.chmod(0o644)
    result = run("--", str(not_executable))
    assert result.returncode == 126
    assert result.stderr == f"container-init: exec {not_executable}: Permission denied\n"


@pytest.mark.parametrize("args", [[], ["--"], ["-x", PROBE]])
def test_usage_error_exits_100(args):
    result = run(*args)
    assert result.returncode == 100
    assert result.stderr.startswith("usage: container-init")
    assert result.stdout == ""
