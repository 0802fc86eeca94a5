"""Hostile archives against `keel image load` (as root on the host): each case of a generated corpus must be
refused with exit 111 and a message naming the entry or blob, write nothing outside the store, and
leave no image or layer behind."""
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys

import pytest

from image_archives import (MEDIA_INDEX, MEDIA_MANIFEST, REF_ANNOTATION, NAME_ANNOTATION, Image, Store,
                            canonical_json, compress, digest, directory, docker_members, file, hardlink, layer_tar,
                            merged_tree, pack, require_store, sha256, symlink, tree, tree_difference, unmount_all_under,
                            write)

UP = "../" * 16  # more than enough to climb from any layer directory to /
BOMB_BYTES = 100 * 1024 * 1024
MEMORY_LIMIT_KB = 64 * 1024  # a bomb must be refused before it is read whole


class Context:
    """The paths a case aims at: a canary directory next to the store and "absolute" victims under tmp_path."""

    def __init__(self, tmp_path):
        self.tmp = str(tmp_path)
        self.canary = os.path.join(self.tmp, "canary")
        self.secret = os.path.join(self.canary, "secret")
        self.victim = os.path.join(self.tmp, "victim")

    @staticmethod
    def relative(path):
        return path.lstrip("/")


# ---------------------------------------------------------------- the corpus: hostile layer entries

def payload(name):
    return file(name, b"pwned\n", mode=0o777)


ENTRY_CASES = {
    # name: (entries(context), the entry the message must name, or a list of which it names one)
    "absolute-path": (lambda c: [payload(c.victim)], lambda c: c.victim),
    "absolute-dir": (lambda c: [directory(c.victim), payload(c.victim + "/pwned")], lambda c: c.victim),
    "dotdot": (lambda c: [payload(UP + c.relative(c.victim))], lambda c: UP + c.relative(c.victim)),
    "dotdot-inside": (lambda c: [directory("a"), payload("a/../../pwned")], lambda c: "a/../../pwned"),
    "dotdot-deep-inside": (lambda c: [directory("a"), payload("a/" + UP + c.relative(c.victim))],
                           lambda c: "a/" + UP),
    "dotdot-dir-chmod": (lambda c: [directory("..", mode=0o777)], lambda c: ".."),
    "symlink-to-absolute-dir": (lambda c: [symlink("link", c.canary), payload("link/pwned")],
                                lambda c: "link/pwned"),
    "symlink-to-dotdot": (lambda c: [symlink("up", ".."), payload("up/pwned")], lambda c: "up/pwned"),
    "symlink-to-deep-dotdot": (lambda c: [symlink("up", UP.rstrip("/")), payload("up/" + c.relative(c.victim))],
                               lambda c: "up/"),
    "symlink-in-subdir": (lambda c: [directory("d"), symlink("d/link", UP + c.relative(c.canary)),
                                     payload("d/link/pwned")], lambda c: "d/link/pwned"),
    "symlink-chain": (lambda c: [symlink("a", "b"), symlink("b", "c"), symlink("c", c.canary), payload("a/pwned")],
                      lambda c: "a/pwned"),
    "symlink-chain-relative": (lambda c: [directory("d"), symlink("d/a", "../b"), symlink("b", "c/.."),
                                          directory("c"), symlink("c/up", UP.rstrip("/")),
                                          symlink("b2", "c/up"), payload("b2/" + c.relative(c.victim))],
                               lambda c: "b2/"),
    "symlink-then-dir-through-it": (lambda c: [symlink("link", c.canary), directory("link/sub"),
                                               payload("link/sub/pwned")], lambda c: "link/sub"),
    "symlink-replaces-dir": (lambda c: [directory("d"), symlink("d", c.canary), payload("d/pwned")],
                             lambda c: ['entry "d"', "d/pwned"]),
    "hardlink-absolute": (lambda c: [hardlink("pwned", c.secret, mode=0o777, uid=4242)], lambda c: "pwned"),
    "hardlink-dotdot": (lambda c: [hardlink("pwned", UP + c.relative(c.secret), mode=0o777)], lambda c: "pwned"),
    "hardlink-missing": (lambda c: [hardlink("pwned", "does/not/exist")], lambda c: "pwned"),
    "hardlink-through-symlink": (lambda c: [symlink("link", c.canary), hardlink("pwned", "link/secret")],
                                 lambda c: "pwned"),
    "chmod-through-symlink": (lambda c: [symlink("link", c.canary), directory("link", mode=0o777, uid=4242)],
                              lambda c: "link"),
    "chmod-through-symlink-dotdot": (lambda c: [symlink("up", UP + c.relative(c.canary)),
                                                directory("up", mode=0o777)], lambda c: "up"),
    "xattr-through-symlink": (lambda c: [symlink("link", c.canary),
                                         directory("link", xattrs={"user.pwned": b"1", "trusted.pwned": b"1"})],
                              lambda c: "link"),
    "whiteout-empty": (lambda c: [file(".wh.")], lambda c: ".wh."),
    "whiteout-dot": (lambda c: [file(".wh..")], lambda c: ".wh.."),
    "whiteout-dotdot": (lambda c: [file(".wh...")], lambda c: ".wh..."),
    "whiteout-dotdot-in-dir": (lambda c: [directory("d"), file("d/.wh...")], lambda c: "d/.wh..."),
    "whiteout-of-a-whiteout": (lambda c: [file(".wh..wh.foo")], lambda c: ".wh..wh.foo"),
    "whiteout-through-symlink": (lambda c: [symlink("link", c.canary), file("link/.wh.secret")],
                                 lambda c: "link/.wh.secret"),
    "whiteout-dotdot-path": (lambda c: [file(UP + c.relative(c.canary) + "/.wh.secret")], lambda c: ".wh.secret"),
    "opaque-through-symlink": (lambda c: [symlink("link", c.canary), file("link/.wh..wh..opq")],
                               lambda c: "link/.wh..wh..opq"),
}


def entry_archive(context, entries, form):
    image = Image([layer_tar(entries)], names=["hostile:latest"], compression="gzip" if form == "oci" else None)
    if form == "oci":
        return oci_tampered(image)
    return pack(docker_members([image]))


# ---------------------------------------------------------------- the corpus: broken archives

def oci_tampered(image, manifest=None, index=None, members=None):
    """An OCI archive of image, with its manifest, index or member list changed by the callables given
    (digests of what changed are recomputed, so only the intended fault remains)."""
    blobs = {digest(blob): blob for blob in image.blobs()}
    config = image.config_bytes()
    blobs[digest(config)] = config
    manifest_document = json.loads(image.manifest_bytes())
    if manifest:
        manifest(manifest_document)
    manifest_bytes = canonical_json(manifest_document)
    blobs[digest(manifest_bytes)] = manifest_bytes
    index_document = {"schemaVersion": 2, "mediaType": MEDIA_INDEX,
                      "manifests": [{"mediaType": MEDIA_MANIFEST, "digest": digest(manifest_bytes),
                                     "size": len(manifest_bytes),
                                     "annotations": {NAME_ANNOTATION: "hostile:latest", REF_ANNOTATION: "latest"}}]}
    if index:
        index(index_document)
    listed = ([("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", canonical_json(index_document))]
              + [(f"blobs/sha256/{d[7:]}", data) for d, data in sorted(blobs.items())])
    if members:
        listed = members(listed)
    return pack(listed)


def docker_tampered(image, manifest=None, config=None, members=None):
    """A docker-archive of image, its manifest.json (a list), config bytes or members changed."""
    listed = docker_members([image])
    if config is not None:
        listed = [(name, config if name.endswith(".json") and name != "manifest.json" else data)
                  for name, data in listed]
    if manifest:
        document = json.loads(dict(listed)["manifest.json"])
        manifest(document)
        listed = [(name, json.dumps(document).encode() if name == "manifest.json" else data) for name, data in listed]
    if members:
        listed = members(listed)
    return pack(listed)


def plain_image(compression=None):
    entries = [directory("etc"), file("etc/data", random.Random(7).randbytes(200000)), file("etc/tail", b"tail\n")]
    return Image([entries], names=["hostile:latest"], compression=compression)


def replaced(name_test, data):
    """A member-list transform replacing the content of the members name_test picks."""
    return lambda listed: [(name, data if name_test(name) else content) for name, content in listed]


def layer_member(name):
    return name.startswith("blobs/") and not name.endswith(".json")


def flip(data, at):
    data = bytearray(data)
    for offset in range(at, min(at + 64, len(data))):
        data[offset] ^= 0x5A
    return bytes(data)


def truncated_layer_archive():
    tar = layer_tar(plain_image().layers[0])
    cut = tar[:len(tar) // 2]  # in the middle of etc/data's content, no end-of-archive blocks
    return pack(docker_members([Image([cut], names=["hostile:latest"])])), [sha256(cut)[:12], "layer 1"]


def truncated_gzip_archive():
    image = plain_image("gzip")
    blob = image.blobs()[0]
    cut = blob[:len(blob) // 2]
    image._blobs = [cut]  # the descriptor names the cut blob: the digest holds, the stream does not
    return oci_tampered(image), [sha256(cut)[:12], image.diff_ids[0][7:19], "layer 1"]


def corrupt_compressed_archive(method):
    image = plain_image(method)
    blob = flip(image.blobs()[0], len(image.blobs()[0]) // 2)
    image._blobs = [blob]
    return oci_tampered(image), [sha256(blob)[:12], image.diff_ids[0][7:19], "layer 1"]


def blob_mismatch_archive(which):
    image = plain_image("gzip")
    layer, config = image.blobs()[0], image.config_bytes()
    manifest = image.manifest_bytes()
    target = {"layer": layer, "config": config, "manifest": manifest}[which]
    name = f"blobs/sha256/{sha256(target)}"
    forged = target[:-1] + bytes([target[-1] ^ 1])
    return oci_tampered(image, members=replaced(lambda n: n == name, forged)), [sha256(target)[:12]]


def wrong_size_archive(delta):
    image = plain_image("gzip")

    def change(document):
        document["layers"][0]["size"] += delta
    return oci_tampered(image, manifest=change), [sha256(image.blobs()[0])[:12], "size"]


def diff_id_mismatch_archive():
    image = plain_image()
    document = image.config_document()
    document["rootfs"]["diff_ids"] = [digest(b"some other layer")]
    return docker_tampered(image, config=canonical_json(document)), [image.diff_ids[0][7:19], sha256(b"some other layer")[:12]]


def diff_id_mismatch_oci_archive():
    image = plain_image("gzip")
    document = image.config_document()
    document["rootfs"]["diff_ids"] = [digest(b"some other layer")]
    config = canonical_json(document)

    def point(manifest):
        manifest["config"]["digest"], manifest["config"]["size"] = digest(config), len(config)

    def add(listed):
        return listed + [(f"blobs/sha256/{sha256(config)}", config)]
    return oci_tampered(image, manifest=point, members=add), [image.diff_ids[0][7:19], sha256(b"some other layer")[:12]]


def missing_docker_layer_archive():
    image = plain_image()

    def point(document):
        document[0]["Layers"] = ["missing/layer.tar"]
    return docker_tampered(image, manifest=point), ["missing/layer.tar"]


def missing_oci_blob_archive(which):
    image = plain_image("gzip")
    target = {"layer": image.blobs()[0], "config": image.config_bytes()}[which]
    name = f"blobs/sha256/{sha256(target)}"
    return oci_tampered(image, members=lambda listed: [m for m in listed if m[0] != name]), [sha256(target)[:12]]


def layer_count_mismatch_archive():
    image = plain_image()
    document = image.config_document()
    document["rootfs"]["diff_ids"].append(digest(b"a second layer"))
    return docker_tampered(image, config=canonical_json(document)), ["layer", "diff"]


def docker_path_escape_archive(context, field):
    image = plain_image()

    def point(document):
        if field == "Layers":
            document[0]["Layers"] = [UP + context.relative(context.secret)]
        else:
            document[0]["Config"] = UP + context.relative(context.secret)
    return docker_tampered(image, manifest=point), [context.relative(context.secret)]


def bad_digest_archive():
    image = plain_image("gzip")

    def point(document):
        document["manifests"][0]["digest"] = "sha256:" + UP + "etc/passwd"
    return oci_tampered(image, index=point), ["sha256:../", "digest"]


def json_bomb_archive(form, shape):
    image = plain_image()
    if shape == "huge":
        bomb = b'[{"Config":"' + b"a" * BOMB_BYTES + b'","Layers":[]}]' if form == "docker" else \
            b'{"schemaVersion":2,"manifests":[{"digest":"' + b"a" * BOMB_BYTES + b'"}]}'
    else:
        bomb = b"[" * 200000 + b"]" * 200000 if form == "docker" else \
            b'{"schemaVersion":2,"manifests":' + b"[" * 200000 + b"]" * 200000 + b"}"
    member = "manifest.json" if form == "docker" else "index.json"
    builder = docker_tampered if form == "docker" else oci_tampered
    # gzip keeps a 100 MB member a small file; keel inflates it as it reads.
    return compress(builder(image, members=replaced(lambda n: n == member, bomb)), "gzip"), [member]


def config_bomb_archive():
    image = plain_image("gzip")
    config = b'{"architecture":"amd64","os":"linux","padding":"' + b" " * BOMB_BYTES + b'"}'

    def point(manifest):
        manifest["config"]["digest"], manifest["config"]["size"] = digest(config), len(config)

    def add(listed):
        return listed + [(f"blobs/sha256/{sha256(config)}", config)]
    return compress(oci_tampered(image, manifest=point, members=add), "gzip"), [sha256(config)[:12], "config"]


def no_manifest_archive():
    return pack([("hello", b"hello\n")]), ["manifest.json", "index.json", "archive"]


ARCHIVE_CASES = {
    # name: (build(context) -> (archive bytes, words of which the message names one), measure memory)
    "truncated-layer": (lambda c: truncated_layer_archive(), False),
    "truncated-gzip-layer": (lambda c: truncated_gzip_archive(), False),
    "corrupt-gzip-layer": (lambda c: corrupt_compressed_archive("gzip"), False),
    "corrupt-zstd-layer": (lambda c: corrupt_compressed_archive("zstd"), False),
    "layer-blob-digest-mismatch": (lambda c: blob_mismatch_archive("layer"), False),
    "config-blob-digest-mismatch": (lambda c: blob_mismatch_archive("config"), False),
    "manifest-blob-digest-mismatch": (lambda c: blob_mismatch_archive("manifest"), False),
    "descriptor-size-too-big": (lambda c: wrong_size_archive(1), False),
    "descriptor-size-too-small": (lambda c: wrong_size_archive(-1), False),
    "diff-id-mismatch-docker": (lambda c: diff_id_mismatch_archive(), False),
    "diff-id-mismatch-oci": (lambda c: diff_id_mismatch_oci_archive(), False),
    "layer-count-mismatch": (lambda c: layer_count_mismatch_archive(), False),
    "manifest-json-missing-layer": (lambda c: missing_docker_layer_archive(), False),
    "oci-missing-layer-blob": (lambda c: missing_oci_blob_archive("layer"), False),
    "oci-missing-config-blob": (lambda c: missing_oci_blob_archive("config"), False),
    "manifest-json-layer-path-escape": (lambda c: docker_path_escape_archive(c, "Layers"), False),
    "manifest-json-config-path-escape": (lambda c: docker_path_escape_archive(c, "Config"), False),
    "index-bad-digest": (lambda c: bad_digest_archive(), False),
    "json-bomb-manifest-json-100MB": (lambda c: json_bomb_archive("docker", "huge"), True),
    "json-bomb-index-json-100MB": (lambda c: json_bomb_archive("oci", "huge"), True),
    "json-bomb-manifest-json-nested": (lambda c: json_bomb_archive("docker", "nested"), True),
    "json-bomb-index-json-nested": (lambda c: json_bomb_archive("oci", "nested"), True),
    "json-bomb-config-100MB": (lambda c: config_bomb_archive(), True),
    "not-a-tar": (lambda c: (random.Random(1).randbytes(20000), ["archive", "tar", "format"]), False),
    "gzip-of-garbage": (lambda c: (gzip.compress(random.Random(2).randbytes(20000), mtime=0),
                                   ["archive", "tar", "format"]), False),
    "empty-input": (lambda c: (b"", ["empty", "archive"]), False),
    "tar-without-manifest": (lambda c: no_manifest_archive(), False),
}


# ---------------------------------------------------------------- checking a refusal

def snapshot(path):
    """Everything about a directory tree that an escape could change: types, modes, owners, link counts,
    contents, mtimes, xattrs (trusted.* included)."""
    found = {}
    for directory_path, directories, files in os.walk(path):
        for name in [""] + directories + files:
            full = os.path.join(directory_path, name) if name else directory_path
            if not name and directory_path != path:
                continue
            info = os.lstat(full)
            xattrs = {key: os.getxattr(full, key, follow_symlinks=False)
                      for key in os.listxattr(full, follow_symlinks=False)}
            content = None
            if os.path.isfile(full) and not os.path.islink(full):
                content = hashlib.sha256(open(full, "rb").read()).hexdigest()
            found[os.path.relpath(full, path)] = (info.st_mode, info.st_uid, info.st_gid, info.st_nlink,
                                                  info.st_size, info.st_mtime_ns, content, xattrs)
    return found


def make_canary(context):
    os.makedirs(context.canary)
    with open(context.secret, "w") as out:
        out.write("secret\n")
    os.chmod(context.secret, 0o600)
    os.chmod(context.canary, 0o755)
    return snapshot(context.tmp + "/canary"), sorted(os.listdir(context.tmp))


def stray_payloads(root):
    """Paths under root named like a case's payload ("pwned", "victim"), symlinks not followed."""
    found = []
    for directory_path, directories, files in os.walk(root):
        for name in directories + files:
            if name.startswith("pwned") or name.startswith("victim"):
                found.append(os.path.join(directory_path, name))
    return found


# A process's ru_maxrss starts from the memory of the process that forked it (kept across exec), and
# this test process holds 100 MB bombs: keel is forked from a fresh, small Python instead.
SPAWNER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def load_measured(store, archive_path):
    """Run `keel image load`; returns (exit code, stdout, stderr, peak RSS in KB)."""
    out_path, err_path, report_path = (archive_path + suffix for suffix in (".out", ".err", ".rusage"))
    with open(out_path, "w") as out, open(err_path, "w") as err:
        subprocess.run([sys.executable, "-c", SPAWNER, report_path] + store.argv("load", "-i", archive_path),
                       stdin=subprocess.DEVNULL, stdout=out, stderr=err, check=True, timeout=600)
    code, rss = (int(field) for field in open(report_path).read().split())
    return code, open(out_path).read(), open(err_path).read(), rss


def check_refused(tmp_path, context, archive, words, measure=False, before=None):
    store = Store(tmp_path / "store")
    archive_path = write(tmp_path / "hostile.tar", archive)
    canary, top = before
    code, stdout, stderr, rss = load_measured(store, archive_path)
    try:
        assert code == 111, f"exit {code}: {stderr}"
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("keel image load: "), stderr
        assert any(word in stderr for word in words), f"the message names none of {words}: {stderr}"
        assert "Loaded image" not in stdout
        if measure:
            assert rss < MEMORY_LIMIT_KB, f"peak RSS {rss} KB reading a bomb"
        # Nothing outside the store: the canary as it was, no payload anywhere, no new path next to it.
        assert snapshot(context.canary) == canary
        assert stray_payloads(context.tmp) == []
        assert not os.path.lexists(context.victim)
        ours = {"store", "hostile.tar", "hostile.tar.out", "hostile.tar.err", "hostile.tar.rusage"}
        assert sorted(set(os.listdir(context.tmp)) - ours) == top
        # No image, no layer; tmp/ is clean once the store is opened again.
        assert store.listing("layers") == []
        assert store.run("ls", "-q").stdout.split() == []
        assert store.listing("tmp") == []
        assert store.listing("containers") == []
    finally:
        unmount_all_under(tmp_path)


@pytest.fixture
def context(tmp_path):
    require_store()
    made = Context(tmp_path)
    made.before = make_canary(made)
    return made


@pytest.mark.parametrize("form", ["docker", "oci-gzip"])
@pytest.mark.parametrize("case", sorted(ENTRY_CASES))
def test_hostile_layer_entry_is_refused(tmp_path, context, case, form):
    entries, named = ENTRY_CASES[case]
    archive = entry_archive(context, entries(context), "oci" if form == "oci-gzip" else "docker")
    names = named(context)
    names = [names] if isinstance(names, str) else names
    check_refused(tmp_path, context, archive, [name.rstrip("/") for name in names], before=context.before)


@pytest.mark.parametrize("case", sorted(ARCHIVE_CASES))
def test_broken_archive_is_refused(tmp_path, context, case):
    build, measure = ARCHIVE_CASES[case]
    archive, words = build(context)
    check_refused(tmp_path, context, archive, words, measure=measure, before=context.before)


# ---------------------------------------------------------------- legal, but close to the edge

REPLACEMENTS = {
    # A later entry of the same layer replaces an earlier one: never by writing through it.
    "file-over-symlink": lambda c: [symlink("link", c.secret), file("link", b"replaced\n")],
    "file-over-hardlink": lambda c: [file("f", b"original\n"), hardlink("h", "f"), file("h", b"replaced\n")],
    "hardlink-to-a-symlink-out": lambda c: [symlink("link", c.secret), hardlink("h", "link")],
    "symlink-with-xattrs": lambda c: [symlink("link", c.canary, xattrs={"user.pwned": b"1"})],
    "symlink-over-file": lambda c: [file("s", b"file\n"), symlink("s", c.secret)],
}


@pytest.mark.parametrize("case", sorted(REPLACEMENTS))
def test_replacing_an_entry_never_writes_through_it(tmp_path, context, case):
    entries = REPLACEMENTS[case](context)
    image = Image([layer_tar(entries)], names=["edge:latest"])
    store = Store(tmp_path / "store")
    archive = write(tmp_path / "edge.tar", pack(docker_members([image])))
    code, _, stderr, _ = load_measured(store, archive)
    try:
        # Refusing is allowed (with a message naming the entry); following a link out is not.
        assert code in (0, 111), stderr
        assert snapshot(context.canary) == context.before[0]
        if code == 0:
            view = str(tmp_path / "view")
            store.mount("edge:latest", view)
            try:
                actual = tree(view, xattrs=False)
            finally:
                store.umount(view)
            expected = merged_tree([entries], xattrs=False)
            assert actual == expected, "\n".join(tree_difference(expected, actual))
            if case == "file-over-hardlink":
                assert actual["f"]["sha256"] == sha256(b"original\n"), actual
            elif case == "hardlink-to-a-symlink-out":
                assert actual["h"] == {**actual["link"]}, actual
        else:
            assert stderr.startswith("keel image load: ") and store.listing("layers") == []
    finally:
        unmount_all_under(tmp_path)
