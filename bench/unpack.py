#!/usr/bin/python3
"""unpack: how fast `keel image load` unpacks a large image, beside `tar -x` of the same layers and
`umoci unpack`.

usage: bench/unpack.py OUTDIR [--rounds R] [--cache DIR]     (root only; R=3,
       BENCH_UNPACK_ROUNDS and BENCH_UNPACK_CACHE set the defaults)

The image is synthetic and generated once, cached under CACHE (default
/var/tmp/keel-bench) in a directory named after the generator's parameters:
about 200 MB in 20,000 files over 5 layers (many small files, a few of
megabytes; deterministic content, half random and half text-like, so gzip
roughly halves it). From it, untimed: each layer as a tar and as a tar.gz,
a docker-archive of the gzip layers and one of the uncompressed layers, and
an OCI layout of each holding the very same layer blobs (for umoci).

Rows, each into fresh directories on the cache's filesystem (/var/tmp: a
disk, not a tmpfs), R rounds round robin, one untimed warm-up run each first
(which also checks the result's file count):

  keel        keel image load -q --root R -i ARCHIVE   (a fresh store each run)
  tar         tar -xf LAYER -C DIR_i for each layer in turn, as an unpacker would
  tar+sync    the same, then sync(1): keel makes its layers durable (syncfs)
              and its blobs (fsync); tar does neither
  umoci       umoci unpack --image LAYOUT:latest BUNDLE

Every run starts after an untimed sync, so that no row pays for the dirty
pages of the one before it. Caches are not dropped (not portable); the
inputs are read once before timing, so every row reads them from the page
cache. The table shows seconds (median [min-max] of the rounds) for gzip
and uncompressed layers, and ratios against keel: tar/keel is keel's speed
as a fraction of tar's (target >= 0.9), umoci/keel above 1 means keel is
faster (target > 1).
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time

from benchlib import BenchError, first_line

sys.dont_write_bytecode = True

GENERATOR = {"version": 1, "files": 20000, "layers": 5, "bytes": 200_000_000, "large_files": 40,
             "large_min": 1 << 20, "large_max": 4 << 20, "seed": 4, "gzip_level": 6}
MTIME = 1700000000
RUN_TIMEOUT = 900  # seconds for one run before it counts as failed
TAR_TARGET = 0.9  # keel at least 0.9x tar's speed: tar_time / keel_time >= 0.9
UMOCI_TARGET = 1.0  # faster than umoci: umoci_time / keel_time > 1
FORMS = ("gzip", "plain")
FORM_TITLES = {"gzip": "gzip layers", "plain": "uncompressed layers"}


def megabytes(count):
    return f"{count / 1e6:.1f} MB"


# ---------------------------------------------------------------- the synthetic image

class Content:
    """Deterministic file contents: 4 KiB pieces taken alternately from a random pool and a text-like one."""

    PIECE = 4096

    def __init__(self, generator):
        self.random_pool = generator.randbytes(4 << 20)
        words = [generator.randbytes(generator.randint(2, 9)).hex().encode() for _ in range(600)]
        text = io.BytesIO()
        while text.tell() < 4 << 20:
            text.write(b" ".join(generator.choice(words) for _ in range(16)) + b"\n")
        self.text_pool = text.getvalue()

    def make(self, generator, size):
        pieces = []
        left = size
        while left > 0:
            length = min(left, self.PIECE)
            pool = self.random_pool if generator.random() < 0.5 else self.text_pool
            start = generator.randrange(0, len(pool) - length)
            pieces.append(pool[start:start + length])
            left -= length
        return b"".join(pieces)


def file_sizes(generator, params):
    """Many small files (log-normal, median ~3 KB) and a few of megabytes, summing to params["bytes"]."""
    large = [generator.randint(params["large_min"], params["large_max"]) for _ in range(params["large_files"])]
    small = [generator.lognormvariate(8.0, 1.2) for _ in range(params["files"] - params["large_files"])]
    scale = (params["bytes"] - sum(large)) / sum(small)
    sizes = [max(0, int(size * scale)) for size in small] + large
    generator.shuffle(sizes)
    return sizes


def layer_entries(layer, sizes):
    """(TarInfo, size) of a layer: directories of 50 files under layer<N>/, a symlink per directory,
    a few executables and files owned by 1000."""
    entries = [(directory_info(f"layer{layer}"), 0)]
    for index, size in enumerate(sizes):
        if index % 50 == 0:
            folder = f"layer{layer}/d{index // 50:03}"
            entries.append((directory_info(folder), 0))
            link = tarfile.TarInfo(f"{folder}/link")
            link.type, link.linkname, link.mode, link.mtime = tarfile.SYMTYPE, f"f{index:05}", 0o777, MTIME
            entries.append((link, 0))
        info = tarfile.TarInfo(f"{folder}/f{index:05}")
        info.size, info.mtime = size, MTIME
        info.mode = 0o755 if index % 17 == 0 else 0o644
        info.uid = info.gid = 1000 if index % 5 == 0 else 0
        entries.append((info, size))
    return entries


def directory_info(name):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
    return info


class HashingWriter:
    """A file object that writes through and hashes what passes (the diff id of a layer)."""

    def __init__(self, target):
        self.target = target
        self.hasher = hashlib.sha256()

    def write(self, data):
        self.hasher.update(data)
        return self.target.write(data)

    def tell(self):
        return self.target.tell()


def sha256_file(path):
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def generate(directory, params):
    """Write the layers, both docker-archives and both OCI layouts into directory (a temporary one)."""
    generator = random.Random(params["seed"])
    content = Content(generator)
    sizes = file_sizes(generator, params)
    per_layer = params["files"] // params["layers"]
    layers = []
    for layer in range(params["layers"]):
        plain = os.path.join(directory, f"layer{layer}.tar")
        with open(plain, "wb") as out:
            writer = HashingWriter(out)
            with tarfile.open(fileobj=writer, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for info, size in layer_entries(layer, sizes[layer * per_layer:(layer + 1) * per_layer]):
                    tar.addfile(info, io.BytesIO(content.make(generator, size)) if info.isfile() else None)
        compressed = plain + ".gz"
        with open(plain, "rb") as source, open(compressed, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=params["gzip_level"], mtime=0) as out:
                shutil.copyfileobj(source, out, 1 << 20)
        layers.append({"plain": plain, "gzip": compressed, "diff_id": "sha256:" + writer.hasher.hexdigest()})
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
                         "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [layer["diff_id"] for layer in layers]}},
                        sort_keys=True, separators=(",", ":")).encode()
    for form in FORMS:
        blobs = [(layer[form], sha256_file(layer[form])) for layer in layers]
        write_docker_archive(os.path.join(directory, f"image-{form}.tar"), config, blobs)
        write_oci_layout(os.path.join(directory, f"oci-{form}"), config, blobs, form)
    with open(os.path.join(directory, "parameters.json"), "w") as out:
        json.dump(dict(params, diff_ids=[layer["diff_id"] for layer in layers]), out, indent=1)


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), MTIME, 0o644
    tar.addfile(info, io.BytesIO(data))


def write_docker_archive(path, config, blobs):
    config_hex = hashlib.sha256(config).hexdigest()
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": ["bench:latest"],
                 "Layers": [f"{hexdigest}/layer.tar" for _, hexdigest in blobs]}]
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        add_bytes(tar, f"{config_hex}.json", config)
        for blob, hexdigest in blobs:
            info = tarfile.TarInfo(f"{hexdigest}/layer.tar")
            info.size, info.mtime, info.mode = os.path.getsize(blob), MTIME, 0o644
            with open(blob, "rb") as data:
                tar.addfile(info, data)
        add_bytes(tar, "manifest.json", json.dumps(manifest).encode())


def write_oci_layout(directory, config, blobs, form):
    """An OCI layout holding the same layer blobs the docker-archive holds (skopeo would recompress them,
    and then umoci would not read the bytes keel and tar read)."""
    objects = os.path.join(directory, "blobs", "sha256")
    os.makedirs(objects)
    media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if form == "gzip" else "")
    layers = []
    for blob, hexdigest in blobs:
        shutil.copyfile(blob, os.path.join(objects, hexdigest))
        layers.append({"mediaType": media, "digest": f"sha256:{hexdigest}", "size": os.path.getsize(blob)})

    def put(data):
        hexdigest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(objects, hexdigest), "wb") as out:
            out.write(data)
        return f"sha256:{hexdigest}"

    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config),
                                      "size": len(config)},
                           "layers": layers}).encode()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(manifest),
                            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(directory, "index.json"), "w") as out:
        json.dump(index, out)
    with open(os.path.join(directory, "oci-layout"), "w") as out:
        out.write('{"imageLayoutVersion":"1.0.0"}')


def cached_image(cache):
    """The generated inputs, made once per set of generator parameters."""
    key = hashlib.sha256(json.dumps(GENERATOR, sort_keys=True).encode()).hexdigest()[:16]
    directory = os.path.join(cache, f"unpack-{key}")
    if os.path.exists(os.path.join(directory, "parameters.json")):
        return directory, False
    os.makedirs(cache, exist_ok=True)
    scratch = f"{directory}.tmp-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    print(f"bench: unpack: generating the image into {directory} (once)", file=sys.stderr, flush=True)
    generate(scratch, GENERATOR)
    shutil.rmtree(directory, ignore_errors=True)
    os.rename(scratch, directory)  # complete or absent
    return directory, True


def warm(paths):
    """Read the inputs once, so every row finds them in the page cache."""
    for path in paths:
        if os.path.isdir(path):
            warm(os.path.join(path, name) for name in sorted(os.listdir(path)))
            continue
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass


# ---------------------------------------------------------------- rows

class Row:
    """One way of unpacking: commands(form, work) -> argv list, run in sequence in a fresh work dir."""

    def __init__(self, name, label, commands, tree):
        self.name, self.label, self.commands, self.tree = name, label, commands, tree


def make_rows(keel, image_dir, layer_count):
    def layers(form):
        suffix = ".gz" if form == "gzip" else ""
        return [os.path.join(image_dir, f"layer{i}.tar{suffix}") for i in range(layer_count)]

    def keel_commands(form, work):
        archive = os.path.join(image_dir, f"image-{form}.tar")
        return [[keel, "image", "load", "-q", "--root", os.path.join(work, "store"), "-i", archive]]

    def tar_commands(form, work, sync=False):
        flag = "-xzf" if form == "gzip" else "-xf"
        commands = []
        for index, layer in enumerate(layers(form)):
            target = os.path.join(work, f"layer{index}")
            commands.append(["mkdir", target])
            commands.append(["tar", flag, layer, "-C", target])
        return commands + ([["sync"]] if sync else [])

    def umoci_commands(form, work):
        return [["umoci", "unpack", "--image", os.path.join(image_dir, f"oci-{form}") + ":latest",
                 os.path.join(work, "bundle")]]

    return [
        Row("keel", "keel image load", keel_commands, lambda work: os.path.join(work, "store", "layers")),
        Row("tar", "tar -x, layer by layer", tar_commands, lambda work: work),
        Row("tar+sync", "tar -x, then sync", lambda form, work: tar_commands(form, work, sync=True),
            lambda work: work),
        Row("umoci", "umoci unpack", umoci_commands, lambda work: os.path.join(work, "bundle", "rootfs")),
    ]


def run_row(row, form, work, keep_output=False):
    """Run a row's commands into work (made fresh); returns wall seconds. Raises BenchError on failure."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    subprocess.run(["sync"], check=True)  # no row pays for another's dirty pages
    commands = row.commands(form, work)
    start = time.perf_counter()
    for argv in commands:
        try:
            result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{argv[0]}: no exit within {RUN_TIMEOUT} s")
        except OSError as error:
            raise BenchError(f"{argv[0]}: {error}")
        if result.returncode != 0:
            raise BenchError(f"{os.path.basename(argv[0])} exited {result.returncode}: "
                             f"{first_line(result.stderr.decode(errors='replace'))}")
    return time.perf_counter() - start


def count_files(path):
    return sum(1 for _, _, files in os.walk(path) for name in files
               if not name.startswith("sha256_") and name != "umoci.json")


def expected_files(params):
    # Every regular file, plus one symlink per 50 files (os.walk lists symlinks among files).
    return params["files"] + params["files"] // 50


def filesystem_type(path):
    """The type of the filesystem path is on (the deepest mount point above it), e.g. "ext4"."""
    path = os.path.realpath(path)
    best, fstype = "", "unknown"
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            point = fields[4].replace("\\040", " ")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, fstype = point, fields[fields.index("-") + 1]
    return fstype


# ---------------------------------------------------------------- report

def seconds(value):
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


LABEL_W, CELL_W, RATIO_W = 26, 24, 22


def report(args, image_dir, sizes, results, failures, fstype):
    lines = []
    say = lines.append
    say(f"Keel image unpack benchmark: a synthetic image of {GENERATOR['files']} files over "
        f"{GENERATOR['layers']} layers, {megabytes(sizes['files'])} of file content; "
        f"{args.rounds} rounds round robin after a warm-up run per row")
    say(f"inputs: {image_dir} (layer tars {megabytes(sizes['plain'])}, gzip {megabytes(sizes['gzip'])}); "
        f"runs in fresh directories under {args.cache} ({fstype}); sync before every run, untimed")
    say("seconds: median [min-max] of the rounds; ratio: the row's time / keel's (tar/keel >= 0.9: keel at "
        "least 0.9x tar's speed; umoci/keel > 1: keel faster)")
    say("")
    header = "".ljust(LABEL_W) + "".join(FORM_TITLES[form].ljust(CELL_W + RATIO_W) for form in FORMS)
    say(header.rstrip())
    say(("row".ljust(LABEL_W) + ("seconds".ljust(CELL_W) + "ratio".ljust(RATIO_W)) * len(FORMS)).rstrip())
    for name, label in ROW_LABELS:
        line = label.ljust(LABEL_W)
        for form in FORMS:
            if (form, name) in failures:
                line += failures[form, name][:CELL_W + RATIO_W - 2].ljust(CELL_W + RATIO_W)
                continue
            samples = results.get((form, name))
            if not samples:
                line += "-".ljust(CELL_W + RATIO_W)
                continue
            line += f"{seconds(statistics.median(samples))} [{seconds(min(samples))}-{seconds(max(samples))}]".ljust(
                CELL_W)
            keel = median(results, failures, form, "keel")
            ratio = "-" if name == "keel" or keel is None else f"{name}/keel {statistics.median(samples) / keel:.2f}x"
            line += ratio.ljust(RATIO_W)
        say(line.rstrip())
    say("")
    say("keel reads the archive into verified blobs (SHA-256 of each blob and of each layer's tar stream), "
        "fsyncs them, unpacks each layer and syncfs()es it; tar and umoci verify nothing here and sync nothing "
        "(umoci writes an mtree manifest of the rootfs).")
    for (form, name), message in failures.items():
        say(f"{name}, {FORM_TITLES[form]}: {message}")
    say("")
    for form in FORMS:
        keel = median(results, failures, form, "keel")
        for peer, target, text in (("tar", TAR_TARGET, f"keel >= {TAR_TARGET:g}x tar's speed"),
                                   ("tar+sync", TAR_TARGET, f"keel >= {TAR_TARGET:g}x the speed of tar+sync"),
                                   ("umoci", UMOCI_TARGET, "keel faster than umoci")):
            other = median(results, failures, form, peer)
            if keel is None:
                verdict = "n/a (keel not measured)"
            elif other is None:
                verdict = f"n/a (no {peer})"
            else:
                met = other / keel >= target if peer != "umoci" else other / keel > target
                verdict = (f"{'met' if met else 'not met'} (keel {seconds(keel)} s, {peer} {seconds(other)} s: "
                           f"{peer}/keel {other / keel:.2f}x)")
            say(f"target {text} ({FORM_TITLES[form]}): {verdict}")
    return "\n".join(lines)


ROW_LABELS = [("keel", "keel image load"), ("tar", "tar -x, layer by layer"), ("tar+sync", "tar -x, then sync"),
              ("umoci", "umoci unpack")]


def median(results, failures, form, name):
    samples = results.get((form, name))
    return statistics.median(samples) if samples and (form, name) not in failures else None


# ---------------------------------------------------------------- main

def measure(args, out):
    image_dir, _ = cached_image(args.cache)
    with open(os.path.join(image_dir, "parameters.json")) as f:
        params = json.load(f)
    sizes = {"plain": sum(os.path.getsize(os.path.join(image_dir, f"layer{i}.tar")) for i in range(params["layers"])),
             "gzip": sum(os.path.getsize(os.path.join(image_dir, f"layer{i}.tar.gz")) for i in range(params["layers"])),
             "files": params["bytes"]}
    work_base = os.path.join(args.cache, f"work-{os.getpid()}")
    keel = os.path.join(out, "bin", "keel")
    rows = make_rows(keel, image_dir, params["layers"])
    results, failures = {}, {}
    warm([image_dir])
    try:
        for form in FORMS:
            active = []
            for row in rows:
                if row.name == "keel" and not os.access(keel, os.X_OK):
                    failures[form, row.name] = f"not available: {keel} not built"
                    continue
                if row.name == "umoci" and shutil.which("umoci") is None:
                    failures[form, row.name] = "failed: umoci not found (bench/packages.txt)"
                    continue
                work = os.path.join(work_base, f"{form}-{row.name}")
                # Warm-up, and a check that the row unpacks the whole image.
                try:
                    run_row(row, form, work)
                    found, expected = count_files(row.tree(work)), expected_files(params)
                    if found != expected:
                        raise BenchError(f"{found} files unpacked, expected {expected}")
                    active.append(row)
                except BenchError as error:
                    prefix = "not available" if row.name == "keel" else "failed"
                    failures[form, row.name] = f"{prefix}: {error}"
                    print(f"bench: unpack: {row.name} ({FORM_TITLES[form]}): {error}", file=sys.stderr)
                shutil.rmtree(work, ignore_errors=True)
            for round_ in range(args.rounds):
                for row in active:
                    if (form, row.name) in failures:
                        continue
                    print(f"bench: unpack: {FORM_TITLES[form]}: round {round_ + 1}/{args.rounds}: {row.name}",
                          file=sys.stderr, flush=True)
                    work = os.path.join(work_base, f"{form}-{row.name}")
                    try:
                        results.setdefault((form, row.name), []).append(run_row(row, form, work))
                    except BenchError as error:
                        failures[form, row.name] = f"failed: {error}"
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(work_base, ignore_errors=True)

    text = report(args, image_dir, sizes, results, failures, filesystem_type(args.cache))
    print(text)
    os.makedirs(os.path.join(out, "bench"), exist_ok=True)
    with open(os.path.join(out, "bench", "unpack.txt"), "w") as saved:
        saved.write(text + "\n")
    # keel missing is expected while it is written; a peer failing breaks the comparison.
    broken = [name for (_, name), message in failures.items() if not message.startswith("not available")]
    return 1 if broken else 0


def main():
    parser = argparse.ArgumentParser(prog="bench/unpack.py",
                                     description="image unpacking: keel image load vs tar -x and umoci unpack")
    parser.add_argument("outdir")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_UNPACK_ROUNDS", "3")),
                        help="rounds, round robin over the rows (BENCH_UNPACK_ROUNDS, 3)")
    parser.add_argument("--cache", default=os.environ.get("BENCH_UNPACK_CACHE", "/var/tmp/keel-bench"),
                        help="where the generated image is kept and the runs unpack (BENCH_UNPACK_CACHE, "
                             "/var/tmp/keel-bench): a disk, not a tmpfs")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.cache = os.path.abspath(args.cache)
    out = os.path.abspath(args.outdir)
    if os.geteuid() != 0:
        print("bench: unpack: not measured: unpacking keeps owners and devices and keel's views mount "
              "overlayfs: run it as root", file=sys.stderr)
        return 0
    try:
        return measure(args, out)
    except (BenchError, OSError, subprocess.CalledProcessError) as error:
        print(f"bench: unpack: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
