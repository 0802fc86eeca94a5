"""benchlib: what every benchmark here shares: the error type, process runs timed without
polling, and the host's cgroup layout."""
import signal
import subprocess

UNIFIED = "/sys/fs/cgroup/unified"


class BenchError(Exception):
    pass


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return "(no output)"


def mounted_fstype(mount_point):
    """The filesystem type mounted at mount_point in this mount namespace, or None."""
    fstype = None
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            if fields[4] == mount_point:
                fstype = fields[fields.index("-") + 1]  # the last mount on top wins
    return fstype


def cgroup_layout():
    if mounted_fstype("/sys/fs/cgroup") == "cgroup2":
        return "unified"
    if mounted_fstype(UNIFIED) == "cgroup2":
        return "hybrid"
    return "legacy"


class RunTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise RunTimeout()


def run_waited(argv, devnull, timeout):
    """Spawn argv and wait for it with a blocking waitpid: its exit status, or None when it ran past
    timeout seconds (then it is killed). Not subprocess.run(timeout=...): with a timeout,
    Popen.wait polls with sleeps of 0.5, 1, 2, 4, 8 ms..., which rounds a 7 ms run up to the next
    poll (about 7.5 or 15.5 ms after the spawn). The timeout is a SIGALRM instead."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    process = subprocess.Popen(argv, stdin=devnull, stdout=devnull, stderr=devnull)
    signal.alarm(timeout)
    try:
        return process.wait()
    except RunTimeout:
        process.kill()
        process.wait()
        return None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
