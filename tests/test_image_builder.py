"""images/build: recipes become valid, byte-for-byte reproducible OCI archives (host, no QEMU, no root)."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time

import pytest

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BUILD = os.path.join(REPO, "images", "build")
TOOLBOX = os.path.join(REPO, "images", "toolbox")
EPOCH = 1700000000
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def require_host():
    for path, package in (("/bin/busybox", "busybox-static"), ("/usr/bin/dpkg-query", "dpkg"),
                          ("/usr/bin/ldd", "libc-bin")):
        if not os.path.exists(path):
            pytest.skip(f"{path} missing (Debian's {package})")


def build(recipe, output, *args, env=None, check=True):
    """Run the builder; returns CompletedProcess (text)."""
    result = subprocess.run([BUILD, *args, str(recipe), str(output)], capture_output=True, text=True, timeout=300,
                            env=env)
    if check:
        assert result.returncode == 0, f"images/build exited {result.returncode}: {result.stderr}"
    return result


def write_recipe(directory, text):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "image.toml").write_text(text)
    return directory


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Archive:
    """An OCI archive read back: its members, the documents, the layer's entries."""

    def __init__(self, path):
        with tarfile.open(path) as tar:
            self.members = tar.getmembers()
            self.files = {m.name: tar.extractfile(m).read() for m in self.members if m.isfile()}
        self.layout = json.loads(self.files["oci-layout"])
        self.index = json.loads(self.files["index.json"])
        self.manifest_descriptor = self.index["manifests"][0]
        self.manifest_bytes = self.blob(self.manifest_descriptor)
        self.manifest = json.loads(self.manifest_bytes)
        self.config = json.loads(self.blob(self.manifest["config"]))
        self.layer_gzip = self.blob(self.manifest["layers"][0])
        self.layer_tar = gzip.decompress(self.layer_gzip)
        with tarfile.open(fileobj=io.BytesIO(self.layer_tar)) as layer:
            self.layer_members = layer.getmembers()
            self.layer_files = {m.name: layer.extractfile(m).read() for m in self.layer_members if m.isfile()}
        self.entries = {m.name: m for m in self.layer_members}

    def blob(self, descriptor):
        """A blob's bytes, checked against the descriptor's digest and size."""
        algorithm, hexdigest = descriptor["digest"].split(":")
        assert algorithm == "sha256"
        data = self.files[f"blobs/sha256/{hexdigest}"]
        assert sha256(data) == descriptor["digest"], f"blob {descriptor['digest']} does not match its digest"
        assert len(data) == descriptor["size"], f"blob {descriptor['digest']}: size {len(data)}, " \
                                                f"descriptor says {descriptor['size']}"
        return data

    def resolve(self, name, hops=40):
        """The layer entry a path leads to, following symlinks inside the layer."""
        for _ in range(hops):
            entry = self.entries[name]
            if not entry.issym():
                return entry
            target = entry.linkname
            base = "/" if target.startswith("/") else "/" + os.path.dirname(name)
            name = os.path.normpath(os.path.join(base, target)).lstrip("/")
        raise AssertionError(f"{name}: symlink loop")


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory):
    require_host()
    path = tmp_path_factory.mktemp("toolbox") / "toolbox.tar"
    started = time.monotonic()
    build(TOOLBOX, path, "--source-date-epoch", str(EPOCH))
    print(f"toolbox: {os.path.getsize(path)} bytes in {time.monotonic() - started:.2f}s")
    return path


def test_same_inputs_give_identical_bytes(toolbox, tmp_path):
    again = tmp_path / "elsewhere" / "toolbox.tar"
    build(TOOLBOX, again, "--source-date-epoch", str(EPOCH))
    assert again.read_bytes() == toolbox.read_bytes()


def test_recipe_file_times_do_not_matter(toolbox, tmp_path):
    recipe = tmp_path / "toolbox"
    shutil.copytree(TOOLBOX, recipe)
    os.utime(recipe / "image.toml", (1234567, 1234567))
    os.utime(recipe, (7654321, 7654321))
    build(recipe, tmp_path / "touched.tar", "--source-date-epoch", str(EPOCH))
    assert (tmp_path / "touched.tar").read_bytes() == toolbox.read_bytes()


def test_another_epoch_gives_other_bytes(toolbox, tmp_path):
    build(TOOLBOX, tmp_path / "later.tar", "--source-date-epoch", str(EPOCH + 1))
    assert (tmp_path / "later.tar").read_bytes() != toolbox.read_bytes()


def test_epoch_comes_from_the_environment(toolbox, tmp_path):
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
    build(TOOLBOX, tmp_path / "env.tar", env=env)
    assert (tmp_path / "env.tar").read_bytes() == toolbox.read_bytes()


def test_epoch_defaults_to_zero_outside_git(tmp_path):
    require_host()
    recipe = write_recipe(tmp_path / "plain", 'name = "plain"\n[files]\n"/hello" = "hi\\n"\n')
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["GIT_CEILING_DIRECTORIES"] = str(tmp_path)  # never look above: /tmp may sit in a checkout
    build(recipe, tmp_path / "plain.tar", env=env)
    archive = Archive(tmp_path / "plain.tar")
    assert archive.config["created"] == "1970-01-01T00:00:00Z"
    assert {m.mtime for m in archive.layer_members} == {0}


def test_archive_is_a_valid_oci_layout(toolbox):
    archive = Archive(toolbox)  # every blob checked against its digest and size
    assert archive.layout == {"imageLayoutVersion": "1.0.0"}
    assert archive.index["schemaVersion"] == 2 and len(archive.index["manifests"]) == 1
    descriptor = archive.manifest_descriptor
    assert descriptor["mediaType"] == MEDIA_MANIFEST
    assert descriptor["annotations"] == {"io.containerd.image.name": "toolbox:latest",
                                         "org.opencontainers.image.ref.name": "latest"}
    assert descriptor["platform"] == {"architecture": "amd64", "os": "linux"}
    assert archive.manifest["schemaVersion"] == 2 and archive.manifest["mediaType"] == MEDIA_MANIFEST
    assert archive.manifest["config"]["mediaType"] == MEDIA_CONFIG
    assert [layer["mediaType"] for layer in archive.manifest["layers"]] == [MEDIA_LAYER_GZIP]
    assert archive.config["rootfs"] == {"type": "layers", "diff_ids": [sha256(archive.layer_tar)]}
    blobs = sorted(name for name in archive.files if name.startswith("blobs/"))
    assert len(blobs) == 3, f"unreferenced or missing blobs: {blobs}"


def test_config_carries_the_recipe(toolbox):
    config = Archive(toolbox).config
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["created"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH))
    assert config["config"]["Cmd"] == ["/bin/sh"]
    assert config["config"]["WorkingDir"] == "/"
    assert config["config"]["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    labels = config["config"]["Labels"]
    assert labels["org.opencontainers.image.title"] == "toolbox"
    assert "org.opencontainers.image.source" in labels and "org.opencontainers.image.description" in labels
    assert len(config["history"]) == 1 and config["history"][0]["created"] == config["created"]


def test_archive_and_layer_entries_are_normalised(toolbox):
    archive = Archive(toolbox)
    for where, members in (("archive", archive.members), ("layer", archive.layer_members)):
        names = [m.name for m in members]
        assert names == sorted(names, key=lambda n: n.split("/")), f"{where} entries not sorted"
        for member in members:
            assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", ""), \
                f"{where} {member.name}: owner {member.uid}:{member.gid} {member.uname!r}:{member.gname!r}"
            assert member.mtime == EPOCH, f"{where} {member.name}: mtime {member.mtime}"
        seen = set()
        for name in names:
            parent = os.path.dirname(name)
            assert not parent or parent in seen or where == "archive" and parent not in names, \
                f"{where} {name} comes before its parent"
            seen.add(name)
    # gzip header: no name, mtime 0 (bytes 4-7), so the blob depends on contents only.
    header = archive.layer_gzip[:10]
    assert header[:3] == b"\x1f\x8b\x08" and header[3] & 0x08 == 0 and header[4:8] == b"\0\0\0\0"


def test_layer_holds_busybox_and_its_applets(toolbox):
    archive = Archive(toolbox)
    busybox = archive.entries["bin/busybox"]
    assert busybox.isfile() and busybox.mode & 0o111
    assert archive.layer_files["bin/busybox"] == open("/bin/busybox", "rb").read()
    assert archive.entries["bin/sh"].issym() and archive.entries["bin/sh"].linkname == "busybox"
    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if os.path.dirname(applet) in ("bin", "sbin", "usr/bin", "usr/sbin") and applet != "bin/busybox":
            assert archive.entries[applet].issym(), f"{applet} missing"
            assert archive.resolve(applet).name == "bin/busybox", f"{applet} does not lead to busybox"
    assert archive.entries["tmp"].isdir() and archive.entries["tmp"].mode == 0o1777
    assert archive.entries["root"].mode == 0o700
    for directory in ("proc", "sys", "dev", "etc", "var"):
        assert archive.entries[directory].isdir()
    passwd = archive.layer_files["etc/passwd"].decode()
    assert passwd.startswith("root:x:0:0:") and "nobody:x:65534:65534:" in passwd
    assert "nobody:x:65534:" in archive.layer_files["etc/group"].decode()


def skopeo():
    path = shutil.which("skopeo")
    if path is None:
        print("skopeo not installed: skipping the skopeo check")
        pytest.skip("skopeo not installed")
    return path


def test_skopeo_reads_the_archive(toolbox):
    tool = skopeo()
    archive = Archive(toolbox)
    raw = subprocess.run([tool, "inspect", "--raw", f"oci-archive:{toolbox}"], capture_output=True, check=True)
    assert json.loads(raw.stdout) == archive.manifest
    config = subprocess.run([tool, "inspect", "--config", f"oci-archive:{toolbox}"], capture_output=True,
                            check=True)
    assert json.loads(config.stdout)["rootfs"]["diff_ids"] == archive.config["rootfs"]["diff_ids"]


def ldd_paths(binary):
    output = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in output.splitlines():
        where = line.split("=>")[-1].strip().split(" (")[0]
        if where.startswith("/"):
            paths.append(where)
    return paths


def test_dynamic_binary_brings_its_libraries_and_loader(tmp_path):
    require_host()
    recipe = write_recipe(tmp_path / "env", 'name = "env"\n[contents]\npaths = ["/usr/bin/env"]\n'
                                            '[config]\nentrypoint = ["/usr/bin/env"]\n')
    build(recipe, tmp_path / "env.tar", "--source-date-epoch", "0")
    archive = Archive(tmp_path / "env.tar")
    assert archive.entries["usr/bin/env"].isfile()
    assert archive.layer_files["usr/bin/env"] == open("/usr/bin/env", "rb").read()
    needed = ldd_paths("/usr/bin/env")
    assert any(os.path.basename(p) == "libc.so.6" for p in needed)
    assert "/lib64/ld-linux-x86-64.so.2" in needed
    for path in needed:
        name = path.lstrip("/")
        assert name in archive.entries, f"{path} (ldd reports it) is not in the layer"
        if os.path.islink(path):
            assert archive.entries[name].issym() and archive.entries[name].linkname == os.readlink(path)
        final = archive.resolve(name)
        assert final.isfile(), f"{path} leads to no file in the layer"
        assert archive.layer_files[final.name] == open(path, "rb").read()
    assert archive.config["config"]["Entrypoint"] == ["/usr/bin/env"]
    if os.geteuid() == 0 and shutil.which("chroot"):
        rootfs = tmp_path / "rootfs"
        with tarfile.open(fileobj=io.BytesIO(archive.layer_tar)) as layer:
            layer.extractall(rootfs)
        ran = subprocess.run(["chroot", str(rootfs), "/usr/bin/env", "-i", "HELLO=layer"], capture_output=True,
                             text=True, timeout=30)
        assert ran.returncode == 0 and ran.stdout == "HELLO=layer\n", ran.stderr


def test_recipe_files_beat_host_files_beat_applets(tmp_path):
    require_host()
    recipe = write_recipe(tmp_path / "mixed", """name = "mixed"
[contents]
busybox = true
paths = ["/usr/bin/env"]
[files]
"/bin/ls" = { content = "#!/bin/sh\\necho mine\\n", mode = 0o755 }
"/usr/sbin/cat" = { content = "#!/bin/sh\\necho cat\\n", mode = 0o755 }
[symlinks]
"/var/run" = "/run"
""")
    build(recipe, tmp_path / "mixed.tar", "--source-date-epoch", "0")
    archive = Archive(tmp_path / "mixed.tar")
    assert archive.entries["bin/ls"].isfile() and archive.entries["bin/ls"].mode == 0o755
    assert archive.layer_files["bin/ls"] == b"#!/bin/sh\necho mine\n"
    assert archive.entries["usr/bin/env"].isfile(), "the busybox applet replaced a file from paths"
    assert archive.entries["bin/echo"].issym()
    assert "bin/cat" not in archive.entries, "the busybox applet /bin/cat shadows /usr/sbin/cat"
    assert archive.entries["var/run"].issym() and archive.entries["var/run"].linkname == "/run"


def test_one_host_file_named_twice_is_stored_once(tmp_path):
    require_host()
    first, second = "/usr/bin/env", "/bin/env"
    if not os.path.exists(second) or not os.path.samefile(first, second):
        pytest.skip(f"{second} and {first} are not one file on this host (no usrmerge)")
    recipe = write_recipe(tmp_path / "twice", f'name = "twice"\n[contents]\npaths = ["{second}", "{first}"]\n')
    build(recipe, tmp_path / "twice.tar", "--source-date-epoch", "0")
    archive = Archive(tmp_path / "twice.tar")
    assert archive.entries["bin/env"].isfile()
    assert archive.entries["usr/bin/env"].islnk() and archive.entries["usr/bin/env"].linkname == "bin/env"


def failing_build(tmp_path, text, *expected):
    """A recipe that must fail: exit 111, a message naming the problem, no output."""
    recipe = write_recipe(tmp_path / "bad", text)
    output = tmp_path / "out" / "bad.tar"
    result = build(recipe, output, "--source-date-epoch", "0", check=False)
    assert result.returncode == 111, result
    for word in expected:
        assert word in result.stderr, f"{word!r} not in {result.stderr!r}"
    assert not output.exists()
    assert not output.parent.exists() or os.listdir(output.parent) == [], "a temporary file was left behind"
    return result


def test_missing_package_is_a_clear_error(tmp_path):
    require_host()
    failing_build(tmp_path, 'name = "bad"\n[contents]\npackages = ["keel-no-such-package"]\n',
                  "keel-no-such-package", "not installed")


def test_malformed_toml_is_a_clear_error(tmp_path):
    failing_build(tmp_path, 'name = "bad"\n[contents\n', "image.toml", "malformed TOML")


def test_unknown_key_and_bad_paths_are_named(tmp_path):
    failing_build(tmp_path, 'name = "bad"\n[contents]\npackage = ["busybox"]\n', "contents.package",
                  "unknown key")
    failing_build(tmp_path, 'name = "bad"\n[files]\n"etc/passwd" = "x"\n', "etc/passwd", "absolute path")
    failing_build(tmp_path, 'name = "Bad Name"\n', "name")


def test_file_under_a_symlink_is_refused(tmp_path):
    failing_build(tmp_path, 'name = "bad"\n[symlinks]\n"/etc" = "/tmp"\n[files]\n"/etc/passwd" = "x"\n',
                  "/etc", "parent directory")


def test_failed_build_keeps_the_previous_output(tmp_path):
    output = tmp_path / "out" / "bad.tar"
    output.parent.mkdir()
    output.write_bytes(b"previous")
    recipe = write_recipe(tmp_path / "bad", 'name = "bad"\n[contents]\npaths = ["/no/such/file"]\n')
    result = build(recipe, output, "--source-date-epoch", "0", check=False)
    assert result.returncode == 111 and "/no/such/file" in result.stderr
    assert output.read_bytes() == b"previous" and os.listdir(output.parent) == ["bad.tar"]


def test_bad_usage_exits_100(tmp_path):
    assert build(TOOLBOX, tmp_path / "x.tar", "--no-such-option", check=False).returncode == 100
    assert build(TOOLBOX, tmp_path / "x.tar", "--source-date-epoch", "yesterday", check=False).returncode == 100
    assert subprocess.run([BUILD], capture_output=True).returncode == 100
