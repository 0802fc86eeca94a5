#!/usr/bin/python3
"""daemon: what the engine daemon costs: `keel run --rm toolbox true` through the API beside `keel oci
run` of the same container (the daemon's overhead) and podman; the daemon's memory idle and with 100
running containers.

usage: bench/daemon.py OUTDIR [--count N] [--rounds R] [--containers M]   (root only; N=100, R=3, M=100;
       BENCH_DAEMON_COUNT, BENCH_DAEMON_ROUNDS and BENCH_DAEMON_CONTAINERS set the defaults)

Everything runs in a private mount namespace of its own (the script re-executes itself under
`unshare --mount --propagation private`), where /run/keel is a fresh tmpfs: the daemon's runtime
state (/run/keel/keel) and keel oci's and podman's run roots live there, as on a real system where
/run is a tmpfs (this build host's /run is on disk). On a hybrid cgroup host the cgroup2 hierarchy's
cgroup.controllers is hidden there too (crun, podman's runtime, refuses the hybrid layout otherwise;
see runtime.py). Image stores and container roots are on /dev/shm (a tmpfs, as /var/lib/keel is on
Keel without a state disk): the daemon's --root, keel oci's store and podman's --root.

Rows, each run once with its output checked first (a warm-up), then R rounds round robin of N
containers in sequence; one sample = wall time of the N runs / N, spawning each from Python and a
blocking waitpid included (not subprocess.run's timeout, whose polling rounds a run up to the next of
its sleeps of 0.5, 1, 2, 4, 8 ms...):

  keel run (API)   keel -H unix://SOCK run --rm toolbox true
                   (the client: create, attach, wait, start, then the daemon removes it)
  keel oci run     keel oci --root STATE run --bundle B ID: B's rootfs is the toolbox's overlay from
                   `keel image mount --container` (a store of its own), its config `keel oci spec`
                   with args ["true"] and the image's Env and WorkingDir
  podman run       podman --root P --runroot R run --rm --network none --ulimit nofile=20000:20000
                   --ulimit nproc=32768:32768 IMAGE true (FACTS.md's workarounds), the toolbox loaded
                   with `podman load -i`; skipped (with the reason) without podman

Memory: the daemon's VmRSS (and RssAnon) from /proc/PID/status: freshly started; with the toolbox
loaded (the target's "idle"); after the timed runs; then with M containers running `sleep 1000`
(started with `keel run -d`), and the increment per container. Its fd count alongside.

Targets: API at most 1.5x keel oci run; podman at least 10x the API's time; idle RSS <= 4 MB
(4096 KB); <= 100 KB of daemon RSS per running container.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import UNIFIED, BenchError, cgroup_layout, first_line, run_waited

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
CONTROLLERS = os.path.join(UNIFIED, "cgroup.controllers")
NAMESPACE_FLAG = "--in-private-mount-namespace"  # internal: set by the re-exec
RUN_STATE = "/run/keel"  # a tmpfs in the private namespace
RUN_TIMEOUT = 60
READY_TIMEOUT = 30
API_TARGET = 1.5  # API / keel oci <= 1.5
PODMAN_TARGET = 10.0  # podman / API >= 10
IDLE_TARGET_KB = 4096
PER_CONTAINER_TARGET_KB = 100
PODMAN_ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]


def run_checked(argv, what, timeout=300, **kwargs):
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                stdin=kwargs.pop("stdin", subprocess.DEVNULL), **kwargs)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what}: no exit within {timeout} s")
    except OSError as error:
        raise BenchError(f"{what}: {error}")
    if result.returncode != 0:
        raise BenchError(f"{what} exited {result.returncode}: {first_line(result.stderr + result.stdout)}")
    return result.stdout


def unmount_all_under(path):
    path = os.path.realpath(path)
    points = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point == path or point.startswith(path + "/"):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


# ---------------------------------------------------------------- the daemon

class Daemon:
    def __init__(self, keel, base):
        self.keel = keel
        self.root = os.path.join(base, "daemon")
        self.socket = os.path.join(base, "keel.sock")
        self.host = "unix://" + self.socket
        self.log_path = os.path.join(base, "daemon.log")
        self.process = None

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen([self.keel, "daemon", "--root", self.root, "--host", self.host],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"keel daemon exited {self.process.returncode}: {self.log_tail()}")
            if os.path.exists(self.socket) and self.client("version", check=False)[0] == 0:
                return
            if time.monotonic() > deadline:
                raise BenchError(f"keel daemon not answering after {READY_TIMEOUT} s: {self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as log:
                return first_line("\n".join(log.read().splitlines()[-3:][::-1]))
        except OSError:
            return "(no log)"

    def client(self, *args, check=True, timeout=RUN_TIMEOUT):
        argv = [self.keel, "-H", self.host, *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise BenchError(f"keel {' '.join(args)} exited {result.returncode}: {first_line(result.stderr)}")
        return result.returncode, result.stdout, result.stderr

    def status(self, field):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return None

    def memory(self):
        """(VmRSS KB, RssAnon KB, fd count)."""
        return self.status("VmRSS"), self.status("RssAnon"), len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def remove_all(self):
        code, out, _ = self.client("ps", "-aq", "--no-trunc", check=False)
        ids = out.split() if code == 0 else []
        for start in range(0, len(ids), 50):
            self.client("rm", "-f", *ids[start:start + 50], check=False, timeout=300)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---------------------------------------------------------------- rows

class Row:
    def __init__(self, name, label, make_argv):
        self.name = name
        self.label = label
        self.make_argv = make_argv


def keel_oci_row(keel, toolbox, base):
    """keel oci run of the toolbox's overlay root, from a store of its own."""
    store = os.path.join(base, "oci-store")
    state = os.path.join(RUN_STATE, "bench-oci")
    bundle = os.path.join(base, "oci-bundle")
    os.makedirs(bundle)
    run_checked([keel, "image", "--root", store, "load", "-q", "-i", toolbox], "keel image load")
    rootfs = run_checked([keel, "image", "--root", store, "mount", "--container", "bench", "toolbox"],
                         "keel image mount --container").strip()
    inspected = json.loads(run_checked([keel, "image", "--root", store, "inspect", "toolbox"], "keel image inspect"))
    image_config = inspected[0].get("Config") or {}
    run_checked([keel, "oci", "spec", "--bundle", bundle], "keel oci spec")
    with open(os.path.join(bundle, "config.json")) as f:
        config = json.load(f)
    config["root"] = {"path": rootfs, "readonly": False}
    config["process"]["args"] = ["true"]
    config["process"]["terminal"] = False
    config["process"]["env"] = image_config.get("Env") or config["process"].get("env", [])
    config["process"]["cwd"] = image_config.get("WorkingDir") or "/"
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    serial = [0]

    def argv():
        serial[0] += 1
        return [keel, "oci", "--root", state, "run", "--bundle", bundle, f"kbd{os.getpid()}-{serial[0]}"]

    cleanup = [keel, "image", "--root", store, "umount", "--container", "bench"]
    return Row("oci", "keel oci run", argv), cleanup


def podman_row(toolbox, base):
    podman = shutil.which("podman")
    if podman is None:
        raise BenchError("podman not installed (Debian's podman: bench/packages.txt)")
    global_args = [podman, "--root", os.path.join(base, "podman-root"), "--runroot", os.path.join(RUN_STATE, "podman"),
                   "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    out = run_checked(global_args + ["load", "-i", toolbox], "podman load")
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Loaded image")]
    if not names:
        raise BenchError(f"podman load named no image: {first_line(out)}")
    image = names[0].split(",")[0].strip()
    version = first_line(run_checked([podman, "--version"], "podman --version"))
    label = "podman " + version.split()[-1]
    return Row("podman", label, lambda: global_args + ["run", "--rm", "--network", "none", *PODMAN_ULIMITS, image,
                                                        "true"]), global_args


def timed_sequence(row, count, devnull):
    started = time.perf_counter()
    for index in range(count):
        status = run_waited(row.make_argv(), devnull, RUN_TIMEOUT)
        if status is None:
            raise BenchError(f"container {index + 1}: no exit within {RUN_TIMEOUT} s")
        if status != 0:
            again = subprocess.run(row.make_argv(), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                                   stdin=devnull)
            reason = first_line(again.stderr + again.stdout) if again.returncode else "(a rerun succeeded)"
            raise BenchError(f"container {index + 1} exited {status}: {reason}")
    return (time.perf_counter() - started) * 1000 / count


# ---------------------------------------------------------------- report

def ms(value):
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def verdict(ok, detail):
    return f"{'met' if ok else 'not met'} ({detail})"


def report(args, layout, rows, results, failures, memory, notes):
    lines = []
    say = lines.append
    say(f"Keel daemon benchmark: `run --rm toolbox true`, {args.count} containers in sequence per row per round, "
        f"{args.rounds} round{'s' if args.rounds != 1 else ''} round robin")
    say(f"ms per container: median of the rounds [min-max of the rounds], a round = wall time of {args.count} runs "
        f"/ {args.count}, spawning each from Python and waiting with a blocking waitpid included")
    say(f"state on tmpfs: {RUN_STATE} (a tmpfs in a private mount namespace) and /dev/shm; cgroups: {layout}"
        + (" (cgroup.controllers of the v2 hierarchy hidden, for crun)" if layout == "hybrid" else ""))
    say("")
    say(f"{'row':<26}{'ms/container':<24}{'ratio':<22}")
    medians = {row.name: statistics.median(results[row.name]) for row in rows
               if row.name not in failures and results.get(row.name)}
    for row in rows:
        if row.name not in medians:
            say(f"{row.label:<26}{failures.get(row.name, 'not measured')}")
            continue
        samples = results[row.name]
        ratio = "-"
        if row.name == "api" and "oci" in medians:
            ratio = f"API/oci {medians['api'] / medians['oci']:.2f}x"
        elif row.name == "podman" and "api" in medians:
            ratio = f"podman/API {medians['podman'] / medians['api']:.1f}x"
        cell = f"{ms(medians[row.name])} [{ms(min(samples))}-{ms(max(samples))}]"
        say(f"{row.label:<26}{cell:<24}{ratio:<22}".rstrip())
    say("")
    say("daemon memory (VmRSS / RssAnon KB, open fds):")
    for label, values in memory:
        if values is None:
            continue
        say(f"  {label:<44}{values[0]:>7} / {values[1]:<7} {values[2]} fds")
    per_container = None
    loaded = dict(memory).get("idle: toolbox loaded (the target's idle)")
    before = dict(memory).get("idle: after the timed runs")
    running = dict(memory).get(f"{args.containers} containers running `sleep 1000`")
    if before and running:
        per_container = (running[0] - before[0]) / args.containers
        say(f"  per running container: {per_container:+.1f} KB VmRSS, "
            f"{(running[1] - before[1]) / args.containers:+.1f} KB RssAnon, "
            f"{(running[2] - before[2]) / args.containers:+.2f} fds")
    for name, message in failures.items():
        if name not in [row.name for row in rows]:
            say(f"{name}: {message}")
    for note in notes:
        say(f"note: {note}")
    say("")
    api, oci, podman = medians.get("api"), medians.get("oci"), medians.get("podman")
    say(f"target API <= {API_TARGET:g}x keel oci run: " + (
        verdict(api / oci <= API_TARGET, f"{api / oci:.2f}x") if api and oci else "n/a (a row failed)"))
    say(f"target >= {PODMAN_TARGET:g}x faster than podman: " + (
        verdict(podman / api >= PODMAN_TARGET, f"{podman / api:.1f}x") if api and podman else
        f"n/a ({failures.get('podman', 'the API row failed')})"))
    say(f"target idle RSS <= 4 MB ({IDLE_TARGET_KB} KB): " + (
        verdict(loaded[0] <= IDLE_TARGET_KB, f"{loaded[0]} KB") if loaded else "n/a"))
    say(f"target <= {PER_CONTAINER_TARGET_KB} KB per running container: " + (
        verdict(per_container <= PER_CONTAINER_TARGET_KB, f"{per_container:.1f} KB") if per_container is not None
        else "n/a"))
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def measure(args, out):
    keel = os.path.join(out, "bin", "keel")
    toolbox = os.path.join(out, "images", "toolbox.tar")
    for path in (keel, toolbox):
        if not os.path.exists(path):
            raise BenchError(f"{path} not built (run make)")
    base = tempfile.mkdtemp(prefix="keel-bench-daemon-", dir="/dev/shm")
    daemon = Daemon(keel, base)
    rows, results, failures, memory, notes, cleanups = [], {}, {}, [], [], []
    try:
        daemon.start()
        memory.append(("fresh: started, no image", daemon.memory()))
        daemon.client("load", "-i", toolbox, timeout=300)
        time.sleep(1)
        memory.append(("idle: toolbox loaded (the target's idle)", daemon.memory()))
        rows.append(Row("api", "keel run (API)", lambda: [keel, "-H", daemon.host, "run", "--rm", "toolbox", "true"]))
        try:
            row, cleanup = keel_oci_row(keel, toolbox, base)
            rows.append(row)
            cleanups.append(cleanup)
        except BenchError as error:
            failures["oci"] = f"failed: {error}"
            rows.append(Row("oci", "keel oci run", None))
        try:
            row, podman = podman_row(toolbox, base)
            rows.append(row)
            cleanups.append(podman + ["system", "reset", "--force"])
        except BenchError as error:
            print(f"bench: daemon: podman row skipped: {error}", file=sys.stderr)
            failures["podman"] = f"skipped: {error}"
            rows.append(Row("podman", "podman run", None))

        active = [row for row in rows if row.name not in failures]
        with open(os.devnull, "r+b") as devnull:
            for row in list(active):
                result = subprocess.run(row.make_argv(), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                                        stdin=devnull)
                if result.returncode != 0:
                    failures[row.name] = (f"failed: exit {result.returncode}: "
                                          f"{first_line(result.stderr + result.stdout)}")
                    print(f"bench: daemon: {row.label}: {failures[row.name]}", file=sys.stderr)
                    active.remove(row)
            for round_ in range(args.rounds):
                for row in active:
                    if row.name in failures:
                        continue
                    print(f"bench: daemon: round {round_ + 1}/{args.rounds}: {row.label}", file=sys.stderr, flush=True)
                    try:
                        results.setdefault(row.name, []).append(timed_sequence(row, args.count, devnull))
                    except BenchError as error:
                        failures[row.name] = f"failed: {error}"
        left = daemon.client("ps", "-aq")[1].split()
        if left:
            notes.append(f"{len(left)} containers left after `run --rm` (removed)")
            daemon.remove_all()
        time.sleep(1)
        memory.append(("idle: after the timed runs", daemon.memory()))
        print(f"bench: daemon: starting {args.containers} containers", file=sys.stderr, flush=True)
        try:
            for index in range(args.containers):
                daemon.client("run", "-d", "--name", f"sleeper{index}", "toolbox", "sleep", "1000")
            time.sleep(2)
            code, listed, _ = daemon.client("ps", "-q")
            running = len(listed.split())
            if running != args.containers:
                notes.append(f"{running} of {args.containers} containers running at the measurement")
            memory.append((f"{args.containers} containers running `sleep 1000`", daemon.memory()))
        except BenchError as error:
            failures["running containers"] = f"failed: {error}"
        daemon.remove_all()
        time.sleep(1)
        memory.append(("after removing them", daemon.memory()))
    finally:
        daemon.stop()
        for cleanup in cleanups:
            subprocess.run(cleanup, capture_output=True, timeout=120)
        unmount_all_under(base)
        shutil.rmtree(base, ignore_errors=True)

    text = report(args, cgroup_layout(), rows, results, failures, memory, notes)
    print(text)
    os.makedirs(os.path.join(out, "bench"), exist_ok=True)
    with open(os.path.join(out, "bench", "daemon.txt"), "w") as saved:
        saved.write(text + "\n")
    broken = [name for name, message in failures.items() if not message.startswith("skipped")]
    return 1 if broken else 0


def main():
    parser = argparse.ArgumentParser(prog="bench/daemon.py",
                                     description="the engine daemon: run through the API vs keel oci and podman; RSS")
    parser.add_argument("outdir")
    parser.add_argument("--count", type=int, default=int(os.environ.get("BENCH_DAEMON_COUNT", "100")),
                        help="containers in sequence per row per round (BENCH_DAEMON_COUNT, 100)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_DAEMON_ROUNDS", "3")),
                        help="rounds, round robin over the rows (BENCH_DAEMON_ROUNDS, 3)")
    parser.add_argument("--containers", type=int, default=int(os.environ.get("BENCH_DAEMON_CONTAINERS", "100")),
                        help="running containers for the memory measurement (BENCH_DAEMON_CONTAINERS, 100)")
    parser.add_argument(NAMESPACE_FLAG, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count < 1 or args.rounds < 1 or args.containers < 1:
        parser.error("--count, --rounds and --containers must be at least 1")
    out = os.path.abspath(args.outdir)
    if os.geteuid() != 0:
        print("bench: daemon: not measured: the engine's containers need root (namespaces, mounts, cgroups); "
              "run it as root", file=sys.stderr)
        return 0
    if not getattr(args, NAMESPACE_FLAG.lstrip("-").replace("-", "_")):
        argv = ["unshare", "--mount", "--propagation", "private", sys.executable, os.path.abspath(__file__), out,
                "--count", str(args.count), "--rounds", str(args.rounds), "--containers", str(args.containers),
                NAMESPACE_FLAG]
        os.execvp(argv[0], argv)
    os.makedirs(RUN_STATE, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "keel-bench", RUN_STATE], capture_output=True,
                            text=True)
    if result.returncode != 0:
        print(f"bench: daemon: cannot mount a tmpfs on {RUN_STATE}: {first_line(result.stderr)}", file=sys.stderr)
        return 1
    if cgroup_layout() == "hybrid":
        result = subprocess.run(["mount", "--bind", "/dev/null", CONTROLLERS], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"bench: daemon: cannot hide {CONTROLLERS}: {first_line(result.stderr)}", file=sys.stderr)
            return 1
    try:
        return measure(args, out)
    except (BenchError, OSError) as error:
        print(f"bench: daemon: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
