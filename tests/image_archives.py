"""Image archives built in Python for the image store's tests (layers with whiteouts, links, devices,
xattrs and hostile entries; docker-archives and OCI archives; gzip/zstd), the trees they should give,
and `keel image` run against a store of a test's own."""
import gzip
import hashlib
import io
import json
import os
import random
import stat
import subprocess
import tarfile

import pytest

from oci import KEEL, OUT

TOOLBOX = os.path.join(OUT, "images", "toolbox.tar")
MTIME = 1700000000  # 2023-11-14: every entry's mtime unless a test says otherwise
CREATED = "2024-01-02T03:04:05Z"
CREATED_UNIX = 1704164645

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = {None: "application/vnd.oci.image.layer.v1.tar",
               "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def digest(data):
    return "sha256:" + sha256(data)


def canonical_json(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


# ---------------------------------------------------------------- layer entries

class Entry:
    """One tar entry of a layer, as written (names are kept verbatim, hostile ones included)."""

    def __init__(self, name, kind, data=b"", mode=0o644, uid=0, gid=0, mtime=MTIME, target="", major=0,
                 minor=0, xattrs=None):
        self.name, self.kind, self.data, self.mode = name, kind, data, mode
        self.uid, self.gid, self.mtime, self.target = uid, gid, mtime, target
        self.major, self.minor = major, minor
        self.xattrs = dict(xattrs or {})

    def tarinfo(self):
        info = tarfile.TarInfo(self.name)
        info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                     "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
                     "fifo": tarfile.FIFOTYPE}[self.kind]
        info.mode, info.uid, info.gid, info.mtime = self.mode, self.uid, self.gid, self.mtime
        info.uname = info.gname = ""
        info.linkname = self.target
        info.devmajor, info.devminor = self.major, self.minor
        info.size = len(self.data) if self.kind == "file" else 0
        # Binary values (security.capability) go through surrogateescape: tarfile then writes
        # the record's bytes as they are, under hdrcharset=BINARY.
        info.pax_headers = {f"SCHILY.xattr.{key}": value.decode("utf-8", "surrogateescape")
                            for key, value in self.xattrs.items()}
        return info


def file(name, data=b"", mode=0o644, **kwargs):
    return Entry(name, "file", data=data, mode=mode, **kwargs)


def directory(name, mode=0o755, **kwargs):
    return Entry(name, "dir", mode=mode, **kwargs)


def symlink(name, target, **kwargs):
    return Entry(name, "symlink", target=target, mode=0o777, **kwargs)


def hardlink(name, target, **kwargs):
    return Entry(name, "hardlink", target=target, **kwargs)


def chardev(name, major, minor, mode=0o666, **kwargs):
    return Entry(name, "char", major=major, minor=minor, mode=mode, **kwargs)


def blockdev(name, major, minor, mode=0o660, **kwargs):
    return Entry(name, "block", major=major, minor=minor, mode=mode, **kwargs)


def fifo(name, mode=0o644, **kwargs):
    return Entry(name, "fifo", mode=mode, **kwargs)


def whiteout(path, **kwargs):
    parent, name = os.path.split(path)
    return file(os.path.join(parent, ".wh." + name), **kwargs)


def opaque(path, **kwargs):
    return file(os.path.join(path, ".wh..wh..opq"), **kwargs)


def capability(*numbers):
    """A security.capability value (VFS_CAP_REVISION_2, effective) granting the capabilities named by number."""
    permitted = 0
    for number in numbers:
        permitted |= 1 << number
    magic = 0x02000000 | 0x000001  # revision 2 | VFS_CAP_FLAGS_EFFECTIVE
    return (magic.to_bytes(4, "little") + (permitted & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4)
            + (permitted >> 32).to_bytes(4, "little") + bytes(4))


CAP_NET_BIND_SERVICE = 10


def layer_tar(entries):
    """The uncompressed tar stream of a layer (pax format, as Docker writes xattrs)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            tar.addfile(entry.tarinfo(), io.BytesIO(entry.data) if entry.kind == "file" else None)
    return buffer.getvalue()


def compress(data, method):
    """data compressed with method: None, "gzip" (mtime 0: reproducible) or "zstd" (the zstd command)."""
    if method is None:
        return data
    if method == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if method == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout
    if method == "xz":
        return subprocess.run(["xz", "-q", "-c", "-0"], input=data, stdout=subprocess.PIPE, check=True).stdout
    raise ValueError(method)


# ---------------------------------------------------------------- images

class Image:
    """An image: layers (lists of entries, or raw tar bytes for hostile ones), a config and names."""

    def __init__(self, layers, names=(), config=None, architecture="amd64", created=CREATED, compression=None):
        self.layers = layers
        self.names = list(names)
        self.config = config if config is not None else {"Cmd": ["/bin/sh"]}
        self.architecture = architecture
        self.created = created
        self.compression = compression  # of every layer blob: None, "gzip", "zstd", or a list per layer
        self.tars = [layer if isinstance(layer, bytes) else layer_tar(layer) for layer in layers]
        self.diff_ids = [digest(tar) for tar in self.tars]
        self._blobs = None

    def layer_compression(self, index):
        if isinstance(self.compression, (list, tuple)):
            return self.compression[index]
        return self.compression

    def blobs(self):
        """The layer blobs (compressed as asked), bottom first."""
        if self._blobs is None:
            self._blobs = [compress(tar, self.layer_compression(i)) for i, tar in enumerate(self.tars)]
        return self._blobs

    def config_document(self):
        document = {"architecture": self.architecture, "os": "linux", "config": self.config,
                    "rootfs": {"type": "layers", "diff_ids": self.diff_ids},
                    "history": [{"created": self.created or CREATED, "created_by": f"layer {i}"}
                                for i in range(len(self.tars))]}
        if self.created:
            document["created"] = self.created
        return document

    def config_bytes(self):
        return canonical_json(self.config_document())

    @property
    def id(self):
        return digest(self.config_bytes())

    def manifest_bytes(self):
        layers = [{"mediaType": MEDIA_LAYER[self.layer_compression(i)], "digest": digest(blob), "size": len(blob)}
                  for i, blob in enumerate(self.blobs())]
        config = self.config_bytes()
        return canonical_json({"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
                               "config": {"mediaType": MEDIA_CONFIG, "digest": digest(config), "size": len(config)},
                               "layers": layers})

    def file_count(self):
        """Regular files the merged tree holds (for quick completeness checks)."""
        return sum(1 for record in merged_tree(self.layers).values() if record["type"] == "file")


def docker_members(images, layout="legacy"):
    """A docker-archive's members, as `docker save` writes them: each config as <id hex>.json and each
    layer as <hex>/layer.tar (legacy), or both under blobs/sha256/ (Docker 25's layout), manifest.json
    and repositories. Returned as a list of (name, bytes) to pack or tamper with."""
    members = {}
    manifest = []
    repositories = {}
    for image in images:
        config = image.config_bytes()
        config_name = f"blobs/sha256/{sha256(config)}" if layout == "blobs" else f"{sha256(config)}.json"
        members[config_name] = config
        layer_names = []
        for blob in image.blobs():
            name = f"blobs/sha256/{sha256(blob)}" if layout == "blobs" else f"{sha256(blob)}/layer.tar"
            members[name] = blob
            layer_names.append(name)
        manifest.append({"Config": config_name, "RepoTags": image.names or None, "Layers": layer_names})
        for name in image.names:
            repository, tag = name.rsplit(":", 1)
            repositories.setdefault(repository, {})[tag] = sha256(image.blobs()[-1]) if image.blobs() else ""
    members["manifest.json"] = json.dumps(manifest).encode()
    if repositories:
        members["repositories"] = json.dumps(repositories).encode()
    return list(members.items())


def oci_members(images, names="both", nested=False, extra_images=()):
    """An OCI archive's members: oci-layout, index.json, blobs/sha256/*. names: "both" (the full name as
    io.containerd.image.name, its tag as org.opencontainers.image.ref.name), "ref" (the tag only),
    "full-ref" (the full name as ref.name, as skopeo writes it), "image-name" (containerd's annotation
    only) or "none". nested: index.json points at
    a nested index holding the platforms (extra_images, other platforms, listed first)."""
    blobs = {}
    descriptors = []

    def put(data):
        blobs[f"blobs/sha256/{sha256(data)}"] = data
        return digest(data)

    for image in images:
        for blob in image.blobs():
            put(blob)
        put(image.config_bytes())
        manifest = image.manifest_bytes()
        descriptor = {"mediaType": MEDIA_MANIFEST, "digest": put(manifest), "size": len(manifest)}
        platform_entries = []
        if nested:
            for other in extra_images:
                for blob in other.blobs():
                    put(blob)
                put(other.config_bytes())
                other_manifest = other.manifest_bytes()
                platform_entries.append({"mediaType": MEDIA_MANIFEST, "digest": put(other_manifest),
                                         "size": len(other_manifest),
                                         "platform": {"architecture": other.architecture, "os": "linux"}})
            platform_entries.append(dict(descriptor, platform={"architecture": image.architecture, "os": "linux"}))
            nested_index = canonical_json({"schemaVersion": 2, "mediaType": MEDIA_INDEX,
                                           "manifests": platform_entries})
            descriptor = {"mediaType": MEDIA_INDEX, "digest": put(nested_index), "size": len(nested_index)}
        for name in image.names or [None]:
            entry = dict(descriptor)
            if name and names != "none":
                annotations = {}
                if names == "both":
                    annotations[NAME_ANNOTATION] = name
                    annotations[REF_ANNOTATION] = name.rsplit(":", 1)[1]
                elif names == "ref":
                    annotations[REF_ANNOTATION] = name.rsplit(":", 1)[1]
                elif names == "full-ref":
                    annotations[REF_ANNOTATION] = name
                elif names == "image-name":
                    annotations[NAME_ANNOTATION] = name
                entry["annotations"] = annotations
            descriptors.append(entry)
    index = canonical_json({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": descriptors})
    return [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)] + sorted(blobs.items())


def pack(members, directories=False):
    """An archive (uncompressed tar) of (name, bytes) members, in the order given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        made = set()
        for name, data in members:
            if directories:
                parts = name.split("/")[:-1]
                for depth in range(1, len(parts) + 1):
                    parent = "/".join(parts[:depth])
                    if parent not in made:
                        made.add(parent)
                        info = tarfile.TarInfo(parent)
                        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
                        tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, MTIME
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def docker_archive(images, compression=None, layout="legacy"):
    return compress(pack(docker_members(images, layout)), compression)


def oci_archive(images, compression=None, **kwargs):
    return compress(pack(oci_members(images, **kwargs), directories=True), compression)


def write(path, data):
    with open(path, "wb") as out:
        out.write(data)
    return str(path)


def unpack_archive(archive_path, directory):
    """Extract an (uncompressed) image archive into directory: an OCI archive becomes an OCI layout."""
    os.makedirs(directory, exist_ok=True)
    with tarfile.open(archive_path) as tar:
        for member in tar.getmembers():
            # Archives here are ours or skopeo's: only files and directories, names checked anyway.
            assert not member.name.startswith("/") and ".." not in member.name.split("/"), member.name
            assert member.isfile() or member.isdir(), member.name
        tar.extractall(directory)
    return str(directory)


# ---------------------------------------------------------------- test images

def rich_layers():
    """Three layers that exercise the layer semantics: layer 2 deletes a file (.wh.) and makes a
    directory opaque (.wh..wh..opq), layer 3 adds files; hard links, symlinks, xattrs (user.* and
    security.capability), devices, a fifo, setuid and sticky modes, owners and mtimes."""
    one = [
        directory("bin"), directory("etc", mtime=MTIME - 100), directory("opaque"), directory("opaque/sub"),
        directory("data", mode=0o750, uid=1000, gid=1000), directory("dev"), directory("tmp", mode=0o1777),
        file("bin/tool", b"#!/bin/sh\necho tool\n", mode=0o755),
        file("bin/su", b"setuid binary\n", mode=0o4755),
        file("bin/sg", b"setgid binary\n", mode=0o2711, gid=42),
        file("bin/ping", b"ping with a capability\n", mode=0o755,
             xattrs={"security.capability": capability(CAP_NET_BIND_SERVICE)}),
        file("etc/config", b"key=value\n", xattrs={"user.comment": b"hello xattr"}),
        file("etc/deleted", b"to be deleted by layer 2\n"),
        file("etc/replaced", b"version 1\n", mode=0o600),
        file("opaque/old", b"hidden by the opaque dir\n"),
        file("opaque/sub/deeper", b"hidden too\n"),
        file("data/owned", b"owned by 1000:1000\n", uid=1000, gid=1000, mode=0o640),
        file("data/odd-owner", b"12345:54321\n", uid=12345, gid=54321, mtime=1000000000),
        file("data/linked", b"one inode, three names\n", mode=0o444),
        hardlink("data/hard1", "data/linked"),
        hardlink("bin/hard2", "data/linked"),
        symlink("bin/sh-link", "tool"),
        symlink("etc/absolute-link", "/etc/config"),
        symlink("dangling", "does/not/exist"),
        chardev("dev/null", 1, 3),
        blockdev("dev/loop0", 7, 0),
        fifo("dev/fifo", mode=0o620),
        file("empty", b""),
        directory("swap"), directory("swap/dir-becomes-file"), file("swap/dir-becomes-file/child", b"hidden\n"),
        file("swap/file-becomes-dir", b"a file first\n"),
        directory("gone"), directory("gone/dir"), file("gone/dir/file", b"whited out with its directory\n"),
        directory("names"),
        directory("opaque2"), file("opaque2/old", b"hidden by opaque2\n"),
    ]
    two = [
        directory("etc", mtime=MTIME + 100),
        whiteout("etc/deleted"),
        file("etc/replaced", b"version 2\n", mode=0o644, uid=7),
        directory("opaque", mode=0o700),
        opaque("opaque"),
        file("opaque/new", b"after the opaque marker\n"),
        whiteout("dangling"),
        directory("swap"),
        file("swap/dir-becomes-file", b"a file now\n"),
        directory("swap/file-becomes-dir", mode=0o711), file("swap/file-becomes-dir/child", b"a directory now\n"),
        whiteout("gone"),
        opaque("opaque2"), directory("opaque2", mode=0o750),  # the marker before its directory's entry
        file("opaque2/new", b"opaque2's only file\n"),
    ]
    three = [
        directory("etc", mtime=MTIME + 200),
        file("etc/added", b"layer 3\n"),
        directory("usr"), directory("usr/share"),
        file("usr/share/big", bytes(random.Random(3).randbytes(300000))),
        directory("opaque", mode=0o700),
        file("opaque/third", b"third layer\n"),
        symlink("usr/lib", "../bin"),
        # Names past ustar's 100 bytes (pax path and linkpath records), UTF-8 and spaces.
        directory("names"),  # explicit, as Docker writes parents: an implicit one would be made now
        directory("names/" + "long-directory-name-" * 4),
        file("names/" + "long-directory-name-" * 4 + "/" + "long-file-name-" * 5, b"a long name\n"),
        symlink("names/long-target", "/" + "a-long-symlink-target/" * 6 + "end"),
        file("names/caf\u00e9 \u00fcn\u00efc\u00f6d\u00e9 name", b"utf-8\n"),
        file("names/no-permissions", b"mode 0\n", mode=0o000),
        directory("readonly", mode=0o555), file("readonly/inside", b"in a read-only directory\n", mode=0o444),
    ]
    return [one, two, three]


def rich_image(names=("rich:latest",), compression=None):
    config = {"Entrypoint": ["/bin/tool"], "Cmd": ["--flag", "x"], "Env": ["PATH=/bin", "A=b c"],
              "WorkingDir": "/data", "User": "1000:1000", "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
              "Volumes": {"/data": {}}, "Labels": {"org.example.b": "2", "org.example.a": "1"},
              "StopSignal": "SIGQUIT"}
    return Image(rich_layers(), names=names, config=config, compression=compression)


def small_image(name="small:latest", marker="small", compression=None, architecture="amd64"):
    """A single-layer image whose file 'marker' says which image it is."""
    layer = [directory("etc"), file("etc/marker", marker.encode() + b"\n"), file("hello", b"hello\n")]
    return Image([layer], names=[name] if name else [], config={"Cmd": ["/hello"]}, compression=compression,
                 architecture=architecture)


def bulk_image(name, layers, files, size, seed=1):
    """A larger image: layers x files of size bytes each, deterministic content."""
    generator = random.Random(seed)
    tars = []
    for number in range(layers):
        entries = [directory(f"layer{number}")]
        for index in range(files):
            entries.append(file(f"layer{number}/f{index:05}", generator.randbytes(size)))
        tars.append(entries)
    return Image(tars, names=[name])


# ---------------------------------------------------------------- trees

def _record(kind, mode, uid, gid, **fields):
    return dict(type=kind, mode=oct(mode & 0o7777), uid=uid, gid=gid, **fields)


def merged_tree(layers, mtimes=True, xattrs=True):
    """The tree overlayfs shows for these layers (lists of entries, bottom first), one record per path,
    in the form tree() returns: what the store must produce."""
    tree = {}  # path -> (record, inode key)
    for number, entries in enumerate(layers):
        def normal(name):
            name = name.rstrip("/")
            return name[2:] if name.startswith("./") else name

        # Whiteouts and opaque markers hide what the lower layers hold, never this layer's entries.
        for entry in entries:
            path = normal(entry.name)
            parent, base = os.path.split(path)
            if base == ".wh..wh..opq":
                for key in [k for k in tree if k.startswith(parent + "/")]:
                    del tree[key]
            elif base.startswith(".wh."):
                hidden = os.path.join(parent, base[4:])
                for key in [k for k in tree if k == hidden or k.startswith(hidden + "/")]:
                    del tree[key]
        by_path = {}
        for entry in entries:
            path = normal(entry.name)
            if os.path.basename(path).startswith(".wh."):
                continue
            if entry.kind == "hardlink":
                record, key = by_path[normal(entry.target)]
                tree[path] = by_path[path] = (record, key)
                continue
            if entry.kind != "dir":
                # A non-directory hides a lower directory's whole tree (overlayfs: the upper entry wins).
                for key in [k for k in tree if k.startswith(path + "/")]:
                    del tree[key]
            fields = {}
            if entry.kind == "file":
                fields.update(size=len(entry.data), sha256=sha256(entry.data))
            elif entry.kind == "symlink":
                fields["target"] = entry.target
            elif entry.kind in ("char", "block"):
                fields["rdev"] = (entry.major, entry.minor)
            if mtimes and entry.kind != "symlink":
                fields["mtime"] = entry.mtime
            if xattrs and entry.kind != "symlink":
                fields["xattrs"] = {k: v for k, v in entry.xattrs.items()}
            mode = 0o777 if entry.kind == "symlink" else entry.mode
            record = _record(entry.kind, mode, entry.uid, entry.gid, **fields)
            tree[path] = by_path[path] = (record, (number, path))
    # Hard links: every path sharing an inode names the group by its first path.
    groups = {}
    for path, (_, key) in tree.items():
        groups.setdefault(key, []).append(path)
    result = {}
    for path, (record, key) in tree.items():
        record = dict(record)
        if record["type"] == "file":
            record["links"] = min(groups[key])
        result[path] = record
    return result


KIND = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFCHR: "char",
        stat.S_IFBLK: "block", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket"}


def file_sha256(path):
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def tree(root, mtimes=True, dir_mtimes=True, xattrs=True):
    """One comparable record per path under root (root itself excluded), never following symlinks:
    type, mode (permission bits with setuid/setgid/sticky), uid, gid; for files size, sha256 and
    "links" (the first path sharing its inode); symlinks' targets; devices' major/minor; mtimes
    (whole seconds; of directories only with dir_mtimes) and xattrs (user.*, security.capability)."""
    found = {}
    inodes = {}
    for directory_path, directories, files in os.walk(root):
        for name in directories + files:
            path = os.path.join(directory_path, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            kind = KIND[stat.S_IFMT(info.st_mode)]
            fields = {}
            if kind == "file":
                fields.update(size=info.st_size, sha256=file_sha256(path))
                inodes.setdefault((info.st_dev, info.st_ino), []).append(relative)
            elif kind == "symlink":
                fields["target"] = os.readlink(path)
            elif kind in ("char", "block"):
                fields["rdev"] = (os.major(info.st_rdev), os.minor(info.st_rdev))
            if mtimes and kind != "symlink" and (dir_mtimes or kind != "dir"):
                fields["mtime"] = int(info.st_mtime)
            if xattrs and kind != "symlink":
                fields["xattrs"] = read_xattrs(path)
            mode = 0o777 if kind == "symlink" else info.st_mode
            found[relative] = _record(kind, mode, info.st_uid, info.st_gid, **fields)
    for paths in inodes.values():
        for path in paths:
            found[path]["links"] = min(paths)
    return found


def read_xattrs(path):
    values = {}
    for name in os.listxattr(path, follow_symlinks=False):
        if name.startswith("user.") or name == "security.capability":
            values[name] = os.getxattr(path, name, follow_symlinks=False)
    return values


def without(records, *fields):
    """records with fields dropped (from every record), for comparisons that cannot see them."""
    return {path: {k: v for k, v in record.items() if k not in fields} for path, record in records.items()}


def tree_difference(expected, actual):
    """A readable list of the paths that differ (empty when the trees are identical)."""
    lines = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            lines.append(f"missing {path}: {expected[path]}")
        elif path not in expected:
            lines.append(f"unexpected {path}: {actual[path]}")
        elif expected[path] != actual[path]:
            changed = {k: (expected[path].get(k), actual[path].get(k))
                       for k in set(expected[path]) | set(actual[path]) if expected[path].get(k) != actual[path].get(k)}
            lines.append(f"differs {path}: (expected, actual) {changed}")
    return lines


# ---------------------------------------------------------------- running `keel image`

def require_store():
    """Skip, saying why, when this host cannot run the image store's tests."""
    if os.geteuid() != 0:
        pytest.skip("needs root: layers keep owners and devices, views are overlayfs mounts")
    if not os.path.exists(KEEL):
        pytest.skip(f"{KEEL} not built (run make)")


def require_toolbox():
    if not os.path.exists(TOOLBOX):
        pytest.skip(f"{TOOLBOX} not built (run make)")


class Store:
    """A store of a test's own: `keel image --root ROOT [--base BASE] ...`."""

    def __init__(self, root, base=None):
        self.root = str(root)
        self.base = str(base) if base else None

    def argv(self, *args):
        return [KEEL, "image", "--root", self.root] + (["--base", self.base] if self.base else []) + list(args)

    def run(self, *args, check=True, text=True, timeout=300, **kwargs):
        """Run `keel image ARGS` (stdin /dev/null unless given); returns CompletedProcess."""
        if "input" not in kwargs and "stdin" not in kwargs:
            kwargs["stdin"] = subprocess.DEVNULL
        result = subprocess.run(self.argv(*args), capture_output=True, text=text, timeout=timeout, **kwargs)
        if check:
            assert result.returncode == 0, \
                f"keel image {' '.join(args)} exited {result.returncode}: {result.stderr}"
        return result

    def load(self, archive, *extra, check=True):
        """Load an archive file; returns the names (or ids) of the "Loaded image" lines."""
        result = self.run("load", "-i", str(archive), *extra, check=check)
        return loaded(result.stdout) if check else result

    def images(self):
        return json.loads(self.run("ls", "--format", "json").stdout)

    def inspect(self, *references):
        return json.loads(self.run("inspect", *references).stdout)

    def mount(self, reference, target):
        os.makedirs(target, exist_ok=True)
        self.run("mount", reference, str(target))
        return str(target)

    def umount(self, target):
        self.run("umount", str(target))

    def view(self, reference, target, **tree_options):
        """The records of the image's read-only merged view (mounted, walked, unmounted)."""
        self.mount(reference, target)
        try:
            return tree(str(target), **tree_options)
        finally:
            self.umount(target)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def listing(self, *parts):
        path = self.path(*parts)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []


def loaded(stdout):
    names = []
    for line in stdout.splitlines():
        for prefix in ("Loaded image: ", "Loaded image ID: "):
            if line.startswith(prefix):
                names.append(line[len(prefix):].strip())
                break
    return names


def unmount_all_under(path):
    """Unmount every mount point under path, deepest first (what a failed test left mounted)."""
    path = os.path.realpath(str(path))
    points = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point == path or point.startswith(path + "/"):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    return points


@pytest.fixture
def store(tmp_path):
    require_store()
    made = Store(tmp_path / "store")
    yield made
    unmount_all_under(tmp_path)
