#!/usr/bin/python3
"""boot: how long Keel takes to boot, split by stage, beside Debian's stock kernel.

usage: bench/boot.py OUTDIR      (BENCH_BOOTS=N boots per configuration, default 5)

Three configurations boot in turn (round robin, so slow drifts of a busy host
spread over all of them), each with its serial console under pexpect:

  keel-iso     OUTDIR/keel.iso from CD-ROM, SeaBIOS + GRUB (the product)
  keel-direct  Keel's kernel and initrd, QEMU direct kernel boot
  debian       Debian's stock kernel, direct kernel boot, with the same sysinit
               and OS image; its initrd adds the modules that kernel lacks

The guest prints kernel-style CLOCK_BOOTTIME stamps:
  [    1.234567] sysinit: start                   first line of /init
  [    1.240000] sysinit: exec /usr/bin/keel init last line before PID 1 execs
  [    1.260000] keel: system ready
and the host notes the wall-clock time from QEMU's start to each line. QEMU is
killed once `keel: system ready` shows (or after BOOT_TIMEOUT seconds).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import pexpect

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.dont_write_bytecode = True  # write nothing into tests/
sys.path.insert(0, os.path.join(REPO, "tests"))
import qemu  # noqa: E402  (tests/qemu.py: the one place that knows QEMU's argv)

from benchlib import BenchError

BOOTS = int(os.environ.get("BENCH_BOOTS", "5"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "1"))
BOOT_TIMEOUT = int(os.environ.get("BENCH_BOOT_TIMEOUT", "120"))
CACHE = os.path.join(os.environ.get("KEEL_CACHE") or "/var/cache/keel", "bench")
# The modules Debian's kernel needs for sysinit to mount the OS image and for
# `keel init` to reach ready; modprobe adds their dependencies. Found by booting.
DEBIAN_MODULES = os.environ.get("BENCH_DEBIAN_MODULES", "loop squashfs").split()
READY_TARGET_MS = 100.0
ISO_TARGET_BYTES = 12 * 1000 * 1000  # 12 MB

STAMP = r"\[\s*(\d+\.\d+)\] "
MARKS = [
    ("start", re.compile(STAMP + r"sysinit: start[\r\n]")),
    ("exec", re.compile(STAMP + r"sysinit: exec /usr/bin/keel[^\r\n]*[\r\n]")),
    ("ready", re.compile(STAMP + r"keel: system ready")),
]
FAILURES = [
    re.compile(r"Kernel panic[^\r\n]*[\r\n]"),
    re.compile(r"sysinit: FAILED[^\r\n]*[\r\n]"),
    re.compile(r"sysinit: dropping to the emergency shell"),
]


def run(argv, **kwargs):
    """Run a helper; on failure raise with its output."""
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if result.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout.strip()}")
    return result.stdout


# ---------------------------------------------------------------- Debian's kernel

def debian_kernel_version():
    """The ABI of bookworm's current kernel, e.g. 6.1.0-56-amd64 (BENCH_DEBIAN_KERNEL overrides)."""
    if os.environ.get("BENCH_DEBIAN_KERNEL"):
        return os.environ["BENCH_DEBIAN_KERNEL"]
    try:
        depends = run(["apt-cache", "depends", "linux-image-amd64"])
        match = re.search(r"Depends: linux-image-(\d[^\s]*-amd64)\b", depends)
        if match:
            return match.group(1)
    except (BenchError, OSError):
        pass
    # apt knows nothing (no lists): fall back on what the cache holds already.
    cached = sorted(name[len("linux-image-"):] for name in os.listdir(CACHE)
                    if name.startswith("linux-image-") and
                    os.path.exists(os.path.join(CACHE, name, ".complete"))) if os.path.isdir(CACHE) else []
    if cached:
        return cached[-1]
    raise BenchError("cannot tell which Debian kernel to use: `apt-cache depends linux-image-amd64` "
                     "names none (run apt-get update, or set BENCH_DEBIAN_KERNEL)")


def debian_kernel_tree(version):
    """Debian's kernel package unpacked in the cache (downloaded once, never installed)."""
    tree = os.path.join(CACHE, f"linux-image-{version}")
    if os.path.exists(os.path.join(tree, ".complete")):
        return tree
    os.makedirs(CACHE, exist_ok=True)
    package = f"linux-image-{version}"
    print(f"bench: fetching {package} into {CACHE} (once)", file=sys.stderr)
    for name in os.listdir(CACHE):
        if name.startswith(package + "_") and name.endswith(".deb"):
            os.unlink(os.path.join(CACHE, name))
    run(["apt-get", "download", package], cwd=CACHE)
    debs = [name for name in os.listdir(CACHE) if name.startswith(package + "_") and name.endswith(".deb")]
    if not debs:
        raise BenchError(f"apt-get download {package} left no .deb in {CACHE}")
    shutil.rmtree(tree, ignore_errors=True)
    run(["dpkg-deb", "-x", os.path.join(CACHE, debs[0]), tree])
    # The package ships no modules.dep: make one, for modprobe --show-depends.
    run(["depmod", "-b", tree, version])
    os.unlink(os.path.join(CACHE, debs[0]))
    open(os.path.join(tree, ".complete"), "w").close()
    return tree


def debian_modules(tree, version, names):
    """The .ko files for NAMES and their dependencies, in load order (modprobe's own)."""
    paths = []
    for name in names:
        out = run(["modprobe", "-d", tree, "-S", version, "--show-depends", name])
        for line in out.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "insmod" and words[1] not in paths:
                paths.append(words[1])
            # "builtin NAME": the kernel has it already, nothing to load.
    plain = []
    for path in paths:
        # Bookworm ships plain .ko; should a later one compress them, unpack here
        # (sysinit could also hand .ko.xz to the kernel, if it was built to take them).
        if path.endswith((".ko.xz", ".ko.zst", ".ko.gz")):
            tool = {"xz": "xz", "zst": "zstd", "gz": "gzip"}[path.rsplit(".", 1)[1]]
            target = os.path.join(CACHE, "ko", os.path.basename(path).rsplit(".", 1)[0])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as ko:
                subprocess.run([tool, "-dc", path], stdout=ko, check=True)
            path = target
        plain.append(path)
    return plain


def prepare_debian(out):
    """Debian's kernel, an initrd with the same sysinit and OS image plus modules."""
    version = debian_kernel_version()
    tree = debian_kernel_tree(version)
    kernel = os.path.join(tree, "boot", f"vmlinuz-{version}")
    modules = debian_modules(tree, version, DEBIAN_MODULES)
    initrd = os.path.join(out, "bench", f"initrd-debian-{version}.img")
    os.makedirs(os.path.dirname(initrd), exist_ok=True)
    # Rebuilt every run: cheap, and never stale against sysinit or the OS image.
    run([os.path.join(REPO, "iso", "initramfs"), initrd, os.path.join(out, "sysinit", "init"),
         os.path.join(out, "os", "usr.sqfs")] + modules)
    return version, kernel, initrd, modules


# ---------------------------------------------------------------- one boot

def tail(text, lines=15):
    text = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|[@-Z\\-_a-z])", "", text.replace("\r", ""))
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join("    " + line for line in kept[-lines:])


def boot_once(argv, log_path):
    """Boot once; return {mark: (guest seconds, wall seconds)} up to ready, or raise."""
    # timeout(1) as well: QEMU dies even if this script is killed mid-boot.
    argv = ["timeout", "-s", "KILL", str(BOOT_TIMEOUT + 30)] + argv
    seen = {}
    with open(log_path, "w") as log:
        started = time.monotonic()
        child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                              timeout=BOOT_TIMEOUT, dimensions=(50, 500))
        child.logfile_read = log
        try:
            patterns = [pattern for _, pattern in MARKS] + FAILURES + [pexpect.EOF, pexpect.TIMEOUT]
            deadline = started + BOOT_TIMEOUT
            while "ready" not in seen:
                index = child.expect(patterns, timeout=max(0.1, deadline - time.monotonic()))
                now = time.monotonic()
                if index < len(MARKS):
                    name = MARKS[index][0]
                    seen.setdefault(name, (float(child.match.group(1)), now - started))
                    continue
                if index < len(MARKS) + len(FAILURES):
                    reason = child.after
                    try:  # a second more of console, for the message's context
                        child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=1)
                    except pexpect.ExceptionPexpect:
                        pass
                elif patterns[index] is pexpect.EOF:
                    reason = "QEMU exited"
                else:
                    reason = f"no `keel: system ready` within {BOOT_TIMEOUT} s"
                log.flush()
                with open(log_path, errors="replace", newline="") as console:
                    raise BenchError(f"{reason.strip()} (console: {log_path}); last lines:\n"
                                     f"{tail(console.read())}")
        finally:
            child.close(force=True)
    missing = [name for name, _ in MARKS if name not in seen]
    if missing:
        raise BenchError(f"ready, but no {', '.join(missing)} line on the console ({log_path})")
    return seen


def measures(seen):
    """The columns of one boot, in milliseconds."""
    start, exec_, ready = seen["start"][0], seen["exec"][0], seen["ready"][0]
    return {
        "init": start * 1000,
        "init_wall": seen["start"][1] * 1000,
        "sysinit": (exec_ - start) * 1000,
        "keel": (ready - exec_) * 1000,
        "target": (ready - start) * 1000,
        "ready_wall": seen["ready"][1] * 1000,
    }


ROWS = [
    ("init", "guest: kernel until /init (stamp)"),
    ("init_wall", "wall: QEMU start -> /init (fw+GRUB+kernel)"),
    ("sysinit", "guest: sysinit (start -> exec)"),
    ("keel", "guest: keel init until ready"),
    ("target", f"guest: sysinit start -> ready (<= {READY_TARGET_MS:.0f} ms)"),
    ("ready_wall", "wall: QEMU start -> ready"),
]


# ---------------------------------------------------------------- report

def cell(values):
    if not values:
        return "-"
    mean = statistics.mean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    if mean >= 100:
        return f"{mean:.0f} ±{spread:.0f} [{min(values):.0f}-{max(values):.0f}]"
    return f"{mean:.1f} ±{spread:.1f} [{min(values):.1f}-{max(values):.1f}]"


def mib(size):
    return f"{size / 1048576:.2f} MiB"


def report(configs, results, errors, sizes, accel, debian_info):
    lines = []
    say = lines.append
    say(f"Keel boot benchmark: {BOOTS} boots per configuration (after {WARMUP} warm-up), "
        f"QEMU accelerator: {accel}" + (" (emulated CPU: times are slow and noisy)" if accel == "tcg" else ""))
    say("Times in ms: mean ±stddev [min-max]. Guest = the guest's CLOCK_BOOTTIME stamps "
        "(start at the kernel's start); wall = host clock from QEMU's start.")
    say("")
    width = max(len(label) for _, label in ROWS) + 2
    col = 26
    header = "".ljust(width) + "".join(name.ljust(col) for name, _, _ in configs) + "Debian/Keel"
    say(header)
    say("".ljust(width) + "".join(desc.ljust(col) for _, desc, _ in configs) + "(direct boots)")
    for key, label in ROWS:
        row = label.ljust(width)
        for name, _, _ in configs:
            values = [m[key] for m in results.get(name, [])]
            row += (cell(values) if name not in errors else "FAILED").ljust(col)
        keel = [m[key] for m in results.get("keel-direct", [])]
        debian = [m[key] for m in results.get("debian", [])]
        if keel and debian and "keel-direct" not in errors and "debian" not in errors \
                and statistics.mean(keel) > 0:
            row += f"{statistics.mean(debian) / statistics.mean(keel):.2f}x"
        else:
            row += "-"
        say(row.rstrip())
    row = "target <= 100 ms met (mean)".ljust(width)
    for name, _, _ in configs:
        values = [m["target"] for m in results.get(name, [])]
        verdict = "-" if name in errors or not values else \
            ("met" if statistics.mean(values) <= READY_TARGET_MS else "not met")
        row += verdict.ljust(col)
    say(row.rstrip())
    for name in errors:
        say("")
        say(f"{name}: FAILED: {errors[name]}")

    say("")
    iso = sizes["iso"]
    iso_met = iso <= ISO_TARGET_BYTES
    say(f"ISO size: {iso} bytes ({mib(iso)}); target <= 12 MB ({ISO_TARGET_BYTES} bytes): "
        f"{'met' if iso_met else 'not met'}")
    say(f"{'sizes, bytes':18}{'Keel':>24}{'Debian':>24}{'Debian/Keel':>14}")
    for key, label in (("kernel", "kernel (vmlinuz)"), ("initrd", "initrd")):
        keel, debian = sizes[f"keel_{key}"], sizes.get(f"debian_{key}")
        row = f"{label:18}{f'{keel} ({mib(keel)})':>24}"
        if debian:
            row += f"{f'{debian} ({mib(debian)})':>24}{debian / keel:>13.2f}x"
        say(row)
    if debian_info:
        version, modules = debian_info
        say(f"Debian kernel {version}: {len(modules)} modules in its initrd "
            f"({sum(os.path.getsize(m) for m in modules)} bytes), load order: "
            + " ".join(os.path.basename(m) for m in modules))

    say("")
    iso_times = [m["target"] for m in results.get("keel-iso", [])]
    if iso_times and "keel-iso" not in errors:
        mean = statistics.mean(iso_times)
        say(f"target sysinit start -> ready <= {READY_TARGET_MS:.0f} ms guest (keel.iso, mean of "
            f"{len(iso_times)}): {'met' if mean <= READY_TARGET_MS else 'not met'} "
            f"({mean:.1f} ms, max {max(iso_times):.1f} ms)")
    else:
        say(f"target sysinit start -> ready <= {READY_TARGET_MS:.0f} ms guest (keel.iso): "
            f"not met (the ISO did not boot to ready)")
    say(f"target ISO <= 12 MB: {'met' if iso_met else 'not met'} ({iso} bytes, {mib(iso)})")
    return "\n".join(lines)


def main():
    if len(sys.argv) != 2:
        print("usage: bench/boot.py OUTDIR", file=sys.stderr)
        return 2
    out = os.path.abspath(sys.argv[1])
    iso = os.path.join(out, "keel.iso")
    boot_dir = os.path.join(out, "iso", "root", "boot")
    needed = [iso, os.path.join(boot_dir, "vmlinuz"), os.path.join(boot_dir, "initrd.img"),
              os.path.join(out, "sysinit", "init"), os.path.join(out, "os", "usr.sqfs")]
    missing = [path for path in needed if not os.path.exists(path)]
    if missing:
        for path in missing:
            print(f"bench: {path} not found: run make (or `make bench`, which builds it)", file=sys.stderr)
        return 1
    if BOOTS < 1:
        print("bench: BENCH_BOOTS must be at least 1", file=sys.stderr)
        return 2
    logs = os.path.join(out, "bench", "logs")
    os.makedirs(logs, exist_ok=True)

    try:
        accel = qemu.command(iso=iso)[2]
    except (RuntimeError, ValueError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    direct = "console=ttyS0 quiet"
    configs = [
        ("keel-iso", "keel.iso, BIOS, CD-ROM", dict(iso=iso, firmware="bios", media="cdrom")),
        ("keel-direct", "Keel kernel, -kernel", dict(kernel=os.path.join(boot_dir, "vmlinuz"),
                                                    initrd=os.path.join(boot_dir, "initrd.img"),
                                                    append=direct)),
    ]
    errors = {}
    sizes = {"iso": os.path.getsize(iso), "keel_kernel": os.path.getsize(needed[1]),
             "keel_initrd": os.path.getsize(needed[2])}
    debian_info = None
    try:
        version, kernel, initrd, modules = prepare_debian(out)
        configs.append(("debian", "Debian kernel, -kernel", dict(kernel=kernel, initrd=initrd, append=direct)))
        sizes["debian_kernel"] = os.path.getsize(kernel)
        sizes["debian_initrd"] = os.path.getsize(initrd)
        debian_info = (version, modules)
    except (BenchError, OSError) as error:
        configs.append(("debian", "Debian kernel, -kernel", None))
        errors["debian"] = f"could not prepare Debian's kernel: {error}"

    results = {name: [] for name, _, _ in configs}
    for round_ in range(WARMUP + BOOTS):
        warm = round_ < WARMUP
        for name, _, args in configs:
            if name in errors:
                continue
            label = f"warm-up {round_ + 1}" if warm else f"boot {round_ - WARMUP + 1}/{BOOTS}"
            print(f"bench: {name}: {label}", file=sys.stderr, flush=True)
            log_path = os.path.join(logs, f"{name}-{'w' if warm else ''}{round_ - WARMUP + 1 if not warm else round_ + 1}.log")
            try:
                seen = boot_once(qemu.command(**args), log_path)
            except (BenchError, RuntimeError, ValueError, OSError, pexpect.ExceptionPexpect) as error:
                errors[name] = f"{label}: {error}"
                print(f"bench: {name}: FAILED: {str(error).splitlines()[0].replace('; last lines:', '')}",
                      file=sys.stderr, flush=True)
                continue
            if not warm:
                results[name].append(measures(seen))

    text = report(configs, results, errors, sizes, accel, debian_info)
    print(text)
    with open(os.path.join(out, "bench", "boot.txt"), "w") as saved:
        saved.write(text + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
