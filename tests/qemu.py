#!/usr/bin/python3
"""qemu: how Keel boots under QEMU; shared by `make run`, tests and bench.

Picks KVM only when /dev/kvm exists *and* the CPU advertises vmx or svm
(on a nested VM without them a KVM guest hangs after the BIOS), TCG otherwise.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys

OVMF = "/usr/share/ovmf/OVMF.fd"


def kvm_usable():
    if not os.path.exists("/dev/kvm") or not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = cpuinfo.read()
    except OSError:
        return False
    return " vmx" in flags or " svm" in flags


def command(iso=None, firmware="bios", media="cdrom", disks=(), kernel=None,
            initrd=None, append=None, memory=512, extra=()):
    """The qemu-system-x86_64 argv for one boot.

    firmware: "bios" (SeaBIOS, machine pc) or "uefi" (OVMF, machine q35).
    media: how the ISO is attached: "cdrom" or "disk" (raw virtio disk).
    kernel/initrd/append: direct kernel boot instead of the ISO's GRUB.
    """
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise RuntimeError("qemu-system-x86_64 not found (package qemu-system-x86)")
    accel = "kvm" if kvm_usable() else "tcg"
    argv = [qemu, "-accel", accel, "-m", str(memory), "-smp", "1",
            "-nographic", "-no-reboot", "-nic", "none"]
    if accel == "kvm":
        argv += ["-cpu", "host"]
    if firmware == "uefi":
        if not os.path.exists(OVMF):
            raise RuntimeError(f"{OVMF} not found (package ovmf)")
        argv += ["-machine", "q35", "-bios", OVMF]
    elif firmware == "bios":
        argv += ["-machine", "pc"]
    else:
        raise ValueError(f"unknown firmware {firmware!r}: want bios or uefi")
    if kernel:
        argv += ["-kernel", kernel, "-initrd", initrd, "-append", append or "console=ttyS0"]
    elif iso:
        if media == "cdrom":
            # CD first: a state disk's MBR has a boot signature but no boot
            # code, and SeaBIOS would hang trying it.
            argv += ["-drive", f"file={iso},format=raw,media=cdrom,readonly=on", "-boot", "order=d"]
        elif media == "disk":
            argv += ["-drive", f"file={iso},format=raw,if=virtio,readonly=on"]
        else:
            raise ValueError(f"unknown media {media!r}: want cdrom or disk")
    for disk in disks:
        argv += ["-drive", f"file={disk},format=raw,if=virtio"]
    return argv + list(extra)


def main():
    parser = argparse.ArgumentParser(description="Boot Keel under QEMU on this terminal.")
    parser.add_argument("verb", choices=["run", "print"], help="run QEMU, or print its command")
    parser.add_argument("--iso", required=True)
    parser.add_argument("--disk", action="append", default=[], help="raw disk image to attach")
    parser.add_argument("--firmware", choices=["bios", "uefi"], default="bios")
    parser.add_argument("--media", choices=["cdrom", "disk"], default="cdrom")
    parser.add_argument("--timeout", type=int, default=0,
                        help="seconds before QEMU is stopped (0: none on a terminal, 600 otherwise)")
    args = parser.parse_args()
    try:
        argv = command(iso=args.iso, firmware=args.firmware, media=args.media, disks=args.disk)
    except (RuntimeError, ValueError) as error:
        print(f"qemu: {error}", file=sys.stderr)
        return 1
    if args.verb == "print":
        print(" ".join(argv))
        return 0
    timeout = args.timeout or (None if sys.stdin.isatty() else 600)
    print(f"qemu: booting {args.iso} ({args.firmware}, {argv[2]}); the serial console is this terminal.")
    print("qemu: quit with Ctrl-A then X; inside Keel, `keelos poweroff` shuts down cleanly.")
    if timeout:
        print(f"qemu: stopped after {timeout} s (--timeout / QEMU_TIMEOUT)")
    process = subprocess.Popen(argv)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        process.wait()
        print("\nqemu: timeout reached, QEMU stopped", file=sys.stderr)
        return 124


if __name__ == "__main__":
    sys.exit(main())
