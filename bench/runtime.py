#!/usr/bin/python3
"""runtime: how fast Keel's OCI runtime starts a container, beside crun, runc and a floor.

usage: bench/runtime.py OUTDIR [--count N] [--rounds R]     (root only; N=100, R=3;
       BENCH_RUNTIME_COUNT and BENCH_RUNTIME_ROUNDS set the defaults)

One bundle under OUTDIR/bench/runtime/: a rootfs holding the static busybox
(true and sh linked to it; nothing downloaded) and two configs over it, each
run by every runtime from the same config.json bytes:

  runc-spec  `runc spec`, args /bin/true, terminal false, root read-only
  keel-spec  `keel oci spec` (Keel's defaults: Docker's seccomp profile,
             masked paths, ...), args /bin/true; skipped while keel has no
             `oci spec`

Runtimes: `keel oci`, crun and runc, each as `RUNTIME --root STATE run --bundle
B ID` with a fresh ID per container, and the floor `unshare --fork --pid
--mount --net --uts --ipc chroot ROOTFS /bin/true` (no config: the same
command in both columns). For each config, R rounds round robin; in a round
each runtime runs N containers in sequence: wall time / N is one sample; the
table shows the median of the R samples. Then one more run of each under
GNU time (-f %M) and one under wait4(2) from here for the peak RSS.

crun refuses this host's hybrid cgroup layout (cgroup2 at
/sys/fs/cgroup/unified); it runs with that hierarchy's cgroup.controllers
hidden. So on a hybrid host the script re-executes itself in a private mount
namespace, binds /dev/null over that file once, and runs every runtime from
there: all of them see the same host.
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True

CONTROLLERS = os.path.join(UNIFIED, "cgroup.controllers")
NAMESPACE_FLAG = "--in-private-mount-namespace"  # internal: set by the re-exec
TIME = "/usr/bin/time"  # GNU time (Debian's time package)
RUN_TIMEOUT = 60  # seconds for one container, before it counts as failed
SPEED_TARGET = 2.0  # crun / keel >= 2
FLOOR_TARGET = 1.3  # keel / floor <= 1.3
FLOOR_ARGV = ["unshare", "--fork", "--pid", "--mount", "--net", "--uts", "--ipc", "chroot"]


# ---------------------------------------------------------------- the bundle

def build_rootfs(rootfs):
    """Static busybox, /bin/true and /bin/sh linked to it, and the mount points the configs use."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        raise BenchError("no busybox: install busybox-static")
    with open(busybox, "rb") as elf:
        header = elf.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:
            raise BenchError(f"{busybox} is not a 64-bit ELF")
        # A dynamic busybox would need its libraries in the rootfs: look for PT_INTERP.
        phoff = int.from_bytes(header[32:40], "little")
        phentsize = int.from_bytes(header[54:56], "little")
        phnum = int.from_bytes(header[56:58], "little")
        elf.seek(phoff)
        table = elf.read(phentsize * phnum)
        if any(int.from_bytes(table[i * phentsize:i * phentsize + 4], "little") == 3 for i in range(phnum)):
            raise BenchError(f"{busybox} is dynamically linked: install busybox-static")
    # Mount points made here, not by the runtimes: each runtime finds the same tree.
    for name in ("bin", "dev", "etc", "proc", "root", "run", "sys", "tmp"):
        os.makedirs(os.path.join(rootfs, name))
    shutil.copy2(busybox, os.path.join(rootfs, "bin", "busybox"))
    for applet in ("true", "sh"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))


def write_config(bundle, config):
    os.makedirs(bundle)
    with open(os.path.join(bundle, "config.json"), "w") as out:
        json.dump(config, out, indent=2)
        out.write("\n")


def runc_spec_config(rootfs):
    with tempfile.TemporaryDirectory(prefix="runc-spec-") as scratch:
        result = subprocess.run(["runc", "spec"], cwd=scratch, capture_output=True, text=True)
        if result.returncode != 0:
            raise BenchError(f"runc spec exited {result.returncode}: {first_line(result.stderr)}")
        with open(os.path.join(scratch, "config.json")) as spec:
            config = json.load(spec)
    config["process"]["args"] = ["/bin/true"]
    config["process"]["terminal"] = False
    config["root"] = {"path": rootfs, "readonly": True}
    return config


def keel_spec_config(keel, rootfs):
    """Keel's default config, or raise BenchError saying why there is none."""
    if not os.access(keel, os.X_OK):
        raise BenchError(f"{keel} not found (build the engine first)")
    with tempfile.TemporaryDirectory(prefix="keel-spec-") as scratch:
        result = subprocess.run([keel, "oci", "spec", "--bundle", scratch], capture_output=True, text=True)
        path = os.path.join(scratch, "config.json")
        if result.returncode != 0 or not os.path.exists(path):
            raise BenchError(f"`keel oci spec` exited {result.returncode}: "
                             f"{first_line(result.stderr + result.stdout)}")
        with open(path) as spec:
            config = json.load(spec)
    config.setdefault("process", {})["args"] = ["/bin/true"]
    # No terminal here: runc and crun would want a --console-socket for one.
    config["process"]["terminal"] = False
    # Absolute, so both bundles share one rootfs; the same bytes go to every runtime.
    config.setdefault("root", {})["path"] = rootfs
    return config


def describe(config):
    linux = config.get("linux", {})
    seccomp = linux.get("seccomp")
    if seccomp:
        rules = sum(len(rule.get("names", [])) for rule in seccomp.get("syscalls", []))
        filter_ = f"seccomp {seccomp.get('defaultAction', '?')} by default, {rules} syscall names in rules"
    else:
        filter_ = "no seccomp"
    caps = config.get("process", {}).get("capabilities", {}).get("bounding", [])
    return (f"namespaces {','.join(ns['type'] for ns in linux.get('namespaces', []))}; "
            f"{len(config.get('mounts', []))} mounts; {len(linux.get('maskedPaths', []))} masked, "
            f"{len(linux.get('readonlyPaths', []))} read-only paths; {len(caps)} capabilities; {filter_}; "
            f"root {'read-only' if config.get('root', {}).get('readonly') else 'writable'}")


# ---------------------------------------------------------------- runtimes

class Runtime:
    """One row: a runtime (`BINARY [oci] --root STATE run --bundle B ID`) or the floor (state None)."""

    def __init__(self, name, label, prefix, state):
        self.name = name
        self.label = label
        self.prefix = prefix  # the argv before "run" (for the floor: the whole command but the rootfs)
        self.state = state  # --root directory, None for the floor
        self.serial = 0

    def argv(self, bundle, rootfs=None):
        if self.state is None:
            return self.prefix + [rootfs, "/bin/true"]
        self.serial += 1  # a fresh container id every run
        return self.prefix + ["run", "--bundle", bundle, f"kb{os.getpid()}-{self.name}-{self.serial}"]


def version(argv):
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return first_line(result.stdout) if result.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def state_base(base):
    """Where the runtimes keep container state: a tmpfs, as /run is on a
    real system (this build host's /run is on disk, where an fsync'd atomic
    write, which only keel does, would cost milliseconds no deployment pays)."""
    if subprocess.run(["stat", "-f", "-c", "%T", "/dev/shm"], capture_output=True,
                      text=True).stdout.strip() == "tmpfs":
        return os.path.join("/dev/shm", f"keel-bench-{os.getpid()}")
    return os.path.join(base, "state")


def make_runtimes(out, base):
    keel = os.path.join(out, "bin", "keel")
    runtimes = []
    for name, binary in (("keel", keel), ("crun", "crun"), ("runc", "runc")):
        state = os.path.join(state_base(base), name)
        os.makedirs(state)
        if name == "keel":
            found = version([keel, "--version"])
            label = "keel" + (f" {found.split()[-1]}" if found else "")
        else:
            found = version([binary, "--version"])
            label = name + (f" {found.split()[2]}" if found and len(found.split()) > 2 else "")
        prefix = ([binary, "oci"] if name == "keel" else [binary]) + ["--root", state]
        runtimes.append(Runtime(name, label[:NAME_W - 2], prefix, state))
    runtimes.append(Runtime("floor", "floor: unshare+chroot", FLOOR_ARGV, None))
    return runtimes


def run_captured(argv):
    """One run with its output kept: (exit status, stderr and stdout)."""
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return -1, f"no exit within {RUN_TIMEOUT} s"
    except OSError as error:
        return -1, str(error)
    return result.returncode, (result.stderr + result.stdout).strip()


def timed_sequence(runtime, bundle, rootfs, count, devnull):
    """Wall ms per container over count runs in sequence; raise BenchError on a failed run."""
    started = time.perf_counter()
    for index in range(count):
        argv = runtime.argv(bundle, rootfs)
        status = run_waited(argv, devnull, RUN_TIMEOUT)
        if status is None:
            raise BenchError(f"container {index + 1}: no exit within {RUN_TIMEOUT} s")
        if status != 0:
            # Its output went to /dev/null (to time nothing else): run once more to read it.
            again, output = run_captured(runtime.argv(bundle, rootfs))
            reason = first_line(output) if again != 0 else "(a rerun to read its stderr succeeded)"
            raise BenchError(f"container {index + 1} exited {status}: {reason}")
    return (time.perf_counter() - started) * 1000 / count


def rss_wait4(argv):
    """ru_maxrss (KB) from wait4(2) on argv spawned from here; raise BenchError if it fails."""
    path = shutil.which(argv[0])
    if path is None:
        raise BenchError(f"{argv[0]} not found")
    null = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    pid = os.posix_spawn(path, argv, os.environ, file_actions=null)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchError(f"exited {os.waitstatus_to_exitcode(status)} under wait4")
    return usage.ru_maxrss


def rss_time(argv):
    """GNU time's %M (KB) for argv, or None without /usr/bin/time or when it fails."""
    if not os.access(TIME, os.X_OK):
        return None
    with tempfile.NamedTemporaryFile("r", prefix="rss-") as report:
        status, _ = run_captured([TIME, "-f", "%M", "-o", report.name] + argv)
        text = report.read().strip()
    return int(text) if status == 0 and text.isdigit() else None


def peak_rss(runtime, bundle, rootfs):
    """(time %M KB or None, wait4 KB) of one run each."""
    return rss_time(runtime.argv(bundle, rootfs)), rss_wait4(runtime.argv(bundle, rootfs))


def leftovers(runtimes):
    """Delete what the runs left behind (container state, cgroups); say what there was."""
    notes = []
    prefix = f"kb{os.getpid()}-"
    for runtime in runtimes:
        if runtime.state is None or not os.path.isdir(runtime.state):
            continue
        left = [name for name in os.listdir(runtime.state) if name.startswith(prefix)]
        if left:
            notes.append(f"{runtime.name} left {len(left)} container state entr{'y' if len(left) == 1 else 'ies'} "
                         f"in {runtime.state} (deleted)")
            for name in left:
                run_captured(runtime.prefix + ["delete", "--force", name])
        shutil.rmtree(runtime.state, ignore_errors=True)
    cgroups = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup", topdown=False):
        for name in dirs:
            if name.startswith(prefix):
                cgroups.append(os.path.join(root, name))
    for path in cgroups:
        try:
            os.rmdir(path)
        except OSError:
            pass
    if cgroups:
        owners = sorted({os.path.basename(path).split("-")[1] for path in cgroups})
        notes.append(f"{len(cgroups)} cgroups left by {', '.join(owners)} (removed where empty): "
                     + " ".join(cgroups[:4]) + (" ..." if len(cgroups) > 4 else ""))
    return notes


# ---------------------------------------------------------------- report

def ms(value):
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


NAME_W, MS_W, RATIO_W, RSS_W = 24, 22, 19, 20
GROUP_W = MS_W + RATIO_W + RSS_W


def report(args, configs, runtimes, layout, results, failures, rss, baseline, notes):
    lines = []
    say = lines.append
    say(f"Keel OCI runtime benchmark: `run` of a busybox /bin/true container; {args.count} containers in "
        f"sequence per runtime per round, {args.rounds} rounds round robin")
    say(f"ms per container: median of the rounds [min-max of the rounds], a round = wall time of {args.count} "
        f"runs / {args.count}, spawning each from Python included")
    if layout == "hybrid":
        say(f"cgroups: hybrid; every runtime ran in one private mount namespace with {CONTROLLERS} "
            "hidden (/dev/null bound over it: crun refuses the hybrid layout otherwise)")
    else:
        say(f"cgroups: {layout}")
    for key, title, config, reason in configs:
        say(f"config {key}: {title}: " + (describe(config) if config else f"skipped: {reason}"))
    say("")
    header = "".ljust(NAME_W) + "".join(f"config {key}: {title}".ljust(GROUP_W) for key, title, _, _ in configs)
    say(header.rstrip())
    say(("runtime".ljust(NAME_W) + ("ms/container".ljust(MS_W) + "ratio".ljust(RATIO_W) +
                                    "RSS KB time (wait4)".ljust(RSS_W)) * len(configs)).rstrip())
    for runtime in runtimes:
        row = runtime.label.ljust(NAME_W)
        for key, _, config, _ in configs:
            if config is None:
                row += "skipped".ljust(GROUP_W)
                continue
            if (key, runtime.name) in failures:
                row += (failures[key, runtime.name][:GROUP_W - 2]).ljust(GROUP_W)
                continue
            samples = results.get((key, runtime.name), [])
            median = statistics.median(samples)
            row += f"{ms(median)} [{ms(min(samples))}-{ms(max(samples))}]".ljust(MS_W)
            row += ratio_cell(key, runtime.name, results, failures).ljust(RATIO_W)
            row_rss = rss.get((key, runtime.name))
            cell = "-" if row_rss is None else rss_cell(*row_rss)
            row += cell.ljust(RSS_W)
        say(row.rstrip())
    say("")
    say("ratio: crun/keel and runc/keel (> 1: keel is faster), keel/floor (how far above the floor).")
    say("RSS: peak resident set of one more run, from GNU time (-f %M) and, in parentheses, from wait4(2) "
        "called here: ru_maxrss, the largest of the runtime and the children it reaped (its helpers, the "
        "container's process), not their sum.")
    if baseline:
        by_time, wait4 = baseline
        say(f"RSS baseline: the static busybox's `true` measured the same way: {rss_cell(by_time, wait4)} KB. "
            "A process's ru_maxrss keeps the RSS of the memory it had before exec: each run counts from its "
            "spawner's size (time's, a small C program; wait4's, this Python). Values near the baseline are "
            "the spawner, not the runtime; the target compares time's numbers.")
    for (key, name), message in failures.items():
        say(f"{name}, config {key}: {message}")
    for note in notes:
        say(f"note: {note}")

    say("")
    for key, _, config, reason in configs:
        keel = median_of(results, failures, key, "keel")
        crun = median_of(results, failures, key, "crun")
        floor = median_of(results, failures, key, "floor")
        why_na = ("config skipped" if config is None else
                  ("keel " + failures[key, "keel"].split(":")[0]) if (key, "keel") in failures else None)
        say(f"target keel >= {SPEED_TARGET:g}x faster than crun (config {key}): " +
            verdict(why_na, crun, keel, lambda: crun / keel >= SPEED_TARGET,
                    lambda: f"crun/keel {crun / keel:.2f}x", "crun"))
        say(f"target keel within {FLOOR_TARGET:g}x of the floor (config {key}): " +
            verdict(why_na, floor, keel, lambda: keel / floor <= FLOOR_TARGET,
                    lambda: f"keel/floor {keel / floor:.2f}x", "floor"))
        keel_rss, crun_rss = compared_rss(rss.get((key, "keel")), rss.get((key, "crun")))
        say(f"target keel peak RSS <= crun's (config {key}): " +
            verdict(why_na, crun_rss, keel_rss, lambda: keel_rss <= crun_rss,
                    lambda: f"keel {keel_rss} KB, crun {crun_rss} KB", "crun's RSS"))
    return "\n".join(lines)


def rss_cell(by_time, wait4):
    return f"({wait4})" if by_time is None else f"{by_time} ({wait4})"


def compared_rss(keel, crun):
    """time's numbers when both have one, else wait4's; None where a runtime has none."""
    if keel is None or crun is None:
        return (keel or (None, None))[1], (crun or (None, None))[1]
    if keel[0] is not None and crun[0] is not None:
        return keel[0], crun[0]
    return keel[1], crun[1]


def median_of(results, failures, key, name):
    samples = results.get((key, name))
    return statistics.median(samples) if samples and (key, name) not in failures else None


def ratio_cell(key, name, results, failures):
    keel = median_of(results, failures, key, "keel")
    value = median_of(results, failures, key, name)
    if name in ("crun", "runc"):
        return f"{name}/keel {value / keel:.2f}x" if keel else "-"
    if name == "keel":
        floor = median_of(results, failures, key, "floor")
        return f"keel/floor {value / floor:.2f}x" if floor else "-"
    return "-"


def verdict(why_na, peer, keel, met, detail, peer_name):
    if why_na:
        return f"n/a ({why_na})"
    if keel is None:
        return "n/a (keel not measured)"
    if peer is None:
        return f"n/a (no {peer_name})"
    return f"{'met' if met() else 'not met'} ({detail()})"


# ---------------------------------------------------------------- main

def measure(args, out):
    base = os.path.join(out, "bench", "runtime")
    shutil.rmtree(base, ignore_errors=True)
    rootfs = os.path.join(base, "rootfs")
    build_rootfs(rootfs)
    configs = []
    try:
        config = runc_spec_config(rootfs)
        write_config(os.path.join(base, "runc-spec"), config)
        configs.append(("a", "runc spec", config, None))
    except (BenchError, OSError, ValueError) as error:
        configs.append(("a", "runc spec", None, str(error)))
    try:
        config = keel_spec_config(os.path.join(out, "bin", "keel"), rootfs)
        write_config(os.path.join(base, "keel-spec"), config)
        configs.append(("b", "keel oci spec", config, None))
    except (BenchError, OSError, ValueError) as error:
        print(f"bench: runtime: config b (keel oci spec) skipped: {error}", file=sys.stderr)
        configs.append(("b", "keel oci spec", None, str(error)))
    bundles = {"a": os.path.join(base, "runc-spec"), "b": os.path.join(base, "keel-spec")}

    runtimes = make_runtimes(out, base)
    results, failures, rss = {}, {}, {}
    with open(os.devnull, "r+b") as devnull:
        for key, title, config, _ in configs:
            if config is None:
                continue
            bundle = bundles[key]
            # One run with the output kept: does it run at all (and a warm-up).
            active = []
            for runtime in runtimes:
                status, output = run_captured(runtime.argv(bundle, rootfs))
                if status == 0:
                    active.append(runtime)
                    continue
                if runtime.name == "keel":
                    print(f"bench: runtime: keel is not available (config {key}, exit {status}); its output:\n"
                          + "\n".join("    " + line for line in output.splitlines()), file=sys.stderr)
                    failures[key, runtime.name] = f"not available: {first_line(output)}"
                else:
                    print(f"bench: runtime: {runtime.name} failed (config {key}, exit {status}): "
                          f"{first_line(output)}", file=sys.stderr)
                    failures[key, runtime.name] = f"failed: {first_line(output)}"
            for round_ in range(args.rounds):
                for runtime in active:
                    if (key, runtime.name) in failures:
                        continue
                    print(f"bench: runtime: config {key}: round {round_ + 1}/{args.rounds}: {runtime.name}",
                          file=sys.stderr, flush=True)
                    try:
                        results.setdefault((key, runtime.name), []).append(
                            timed_sequence(runtime, bundle, rootfs, args.count, devnull))
                    except BenchError as error:
                        failures[key, runtime.name] = f"failed: {error}"
            for runtime in active:
                if (key, runtime.name) in failures:
                    continue
                try:
                    rss[key, runtime.name] = peak_rss(runtime, bundle, rootfs)
                except (BenchError, OSError) as error:
                    print(f"bench: runtime: {runtime.name}: peak RSS: {error}", file=sys.stderr)
    try:
        true = [os.path.join(rootfs, "bin", "true")]
        baseline = (rss_time(true), rss_wait4(true))
    except (BenchError, OSError):
        baseline = None
    notes = leftovers(runtimes)
    shutil.rmtree(state_base(base), ignore_errors=True)

    text = report(args, configs, runtimes, cgroup_layout(), results, failures, rss, baseline, notes)
    print(text)
    with open(os.path.join(out, "bench", "runtime.txt"), "w") as saved:
        saved.write(text + "\n")
    # keel missing is expected while it is written; a peer or the floor failing breaks the comparison.
    broken = [name for (_, name), message in failures.items() if not message.startswith("not available")]
    return 1 if broken or configs[0][2] is None else 0


def main():
    parser = argparse.ArgumentParser(prog="bench/runtime.py",
                                     description="container start: keel oci vs crun, runc and a floor")
    parser.add_argument("outdir")
    parser.add_argument("--count", type=int, default=int(os.environ.get("BENCH_RUNTIME_COUNT", "100")),
                        help="containers in sequence per runtime per round (BENCH_RUNTIME_COUNT, 100)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_RUNTIME_ROUNDS", "3")),
                        help="rounds, round robin over the runtimes (BENCH_RUNTIME_ROUNDS, 3)")
    parser.add_argument(NAMESPACE_FLAG, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count < 1 or args.rounds < 1:
        parser.error("--count and --rounds must be at least 1")
    out = os.path.abspath(args.outdir)
    if os.geteuid() != 0:
        print("bench: runtime: not measured: container runtimes need root (namespaces, mounts, cgroups); "
              "run it as root", file=sys.stderr)
        return 0
    layout = cgroup_layout()
    if layout == "hybrid" and not getattr(args, NAMESPACE_FLAG.lstrip("-").replace("-", "_")):
        # Everything from here on in one private mount namespace (see the docstring).
        argv = ["unshare", "--mount", "--propagation", "private", sys.executable, os.path.abspath(__file__),
                out, "--count", str(args.count), "--rounds", str(args.rounds), NAMESPACE_FLAG]
        os.execvp(argv[0], argv)
    if layout == "hybrid":
        result = subprocess.run(["mount", "--bind", "/dev/null", CONTROLLERS], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"bench: runtime: cannot hide {CONTROLLERS}: {first_line(result.stderr)}", file=sys.stderr)
            return 1
    for tool in ("runc", "crun", "unshare", "chroot"):
        if shutil.which(tool) is None:
            print(f"bench: runtime: {tool} not found (see bench/packages.txt); its row will fail",
                  file=sys.stderr)
    try:
        return measure(args, out)
    except (BenchError, OSError) as error:
        print(f"bench: runtime: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
