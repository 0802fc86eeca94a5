"""`keel image` over a store of each test's own, as root on the host: load (docker-archive, OCI, compressed,
stdin), ls, inspect, the merged layer view, rm, prune, save, containers' root filesystems run by
`keel oci`, a read-only base store, crash safety of load, and progress on a terminal."""
import hashlib
import json
import os
import re
import signal
import subprocess
import tarfile
import time

import pexpect
import pytest

from image_archives import (CREATED_UNIX, TOOLBOX, Image, Store, bulk_image, digest, directory, docker_archive,
                            file, loaded, merged_tree, oci_archive, require_store, require_toolbox, rich_image,
                            rich_layers, small_image, store, tree, tree_difference, unmount_all_under,
                            write)  # noqa: F401 (store is a fixture)
from oci import KEEL, Bundle, require_runtime


def chain_ids(diff_ids):
    chain = [diff_ids[0]]
    for diff_id in diff_ids[1:]:
        chain.append(digest(f"{chain[-1]} {diff_id}".encode()))
    return chain


def assert_view(store, reference, layers, target):
    actual = store.view(reference, target)
    difference = tree_difference(merged_tree(layers), actual)
    assert not difference, "merged view differs:\n" + "\n".join(difference)
    return actual


# ---------------------------------------------------------------- load

def test_load_docker_archive_from_a_file(store, tmp_path):
    image = small_image("small:latest")
    archive = write(tmp_path / "small.tar", docker_archive([image]))
    result = store.run("load", "-i", archive)
    assert result.stdout == "Loaded image: small:latest\n"
    assert result.stderr == ""  # progress only on a terminal
    [summary] = store.images()
    assert summary["Id"] == image.id and summary["RepoTags"] == ["small:latest"]


def test_load_oci_archive_from_a_file(store, tmp_path):
    image = small_image("small:1.0")
    archive = write(tmp_path / "small.tar", oci_archive([image]))
    assert store.run("load", "-i", archive).stdout == "Loaded image: small:1.0\n"
    [summary] = store.images()
    assert summary["Id"] == image.id and summary["RepoTags"] == ["small:1.0"]


@pytest.mark.parametrize("how", ["redirect", "pipe", "dash"])
def test_load_from_stdin(store, tmp_path, how):
    image = small_image("piped:latest")
    data = oci_archive([image])
    archive = write(tmp_path / "piped.tar", data)
    if how == "redirect":
        with open(archive, "rb") as stdin:
            result = store.run("load", stdin=stdin)
    elif how == "pipe":
        result = store.run("load", input=data, text=False)
    else:
        result = store.run("load", "-i", "-", input=data, text=False)
    assert loaded(result.stdout if isinstance(result.stdout, str) else result.stdout.decode()) == ["piped:latest"]
    assert [s["Id"] for s in store.images()] == [image.id]


def test_options_after_the_command_and_from_the_environment(tmp_path):
    require_store()
    root = str(tmp_path / "store")
    archive = write(tmp_path / "small.tar", docker_archive([small_image()]))
    result = subprocess.run([KEEL, "image", "load", "--root", root, "-i", archive], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    env = dict(os.environ, KEEL_IMAGE_ROOT=root)
    listed = subprocess.run([KEEL, "image", "ls", "-q"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [small_image().id[7:19]]


def test_unnamed_images_and_the_name_option(store, tmp_path):
    unnamed = small_image(None, marker="unnamed")
    archive = write(tmp_path / "unnamed.tar", oci_archive([unnamed]))
    assert store.run("load", "-i", archive).stdout == f"Loaded image ID: {unnamed.id}\n"
    table = store.run("ls").stdout.splitlines()
    assert len(table) == 2 and table[1].split()[:3] == ["<none>", "<none>", unnamed.id[7:19]], table
    assert store.images()[0]["RepoTags"] == []
    # --name names an image the archive does not name...
    assert store.run("load", "-i", archive, "--name", "named").stdout == "Loaded image: named:latest\n"
    # ... and completes a bare tag (OCI ref.name "2.0" without a full name).
    tagged = small_image("whatever:2.0", marker="tagged")
    archive = write(tmp_path / "tagged.tar", oci_archive([tagged], names="ref"))
    assert store.run("load", "-i", archive, "--name", "repo").stdout == "Loaded image: repo:2.0\n"
    names = sorted(tag for summary in store.images() for tag in summary["RepoTags"])
    assert names == ["named:latest", "repo:2.0"]


@pytest.mark.parametrize("names", ["both", "full-ref", "image-name"])
def test_oci_name_annotations(store, tmp_path, names):
    # containerd writes both annotations, skopeo the full name as ref.name, some tools only containerd's.
    image = small_image("annotated:3.1")
    archive = write(tmp_path / "annotated.tar", oci_archive([image], names=names))
    assert store.load(archive) == ["annotated:3.1"]


def test_a_name_loaded_again_moves_to_the_new_image(store, tmp_path):
    old, new = small_image("moving:1", marker="old"), small_image("moving:1", marker="new")
    store.load(write(tmp_path / "old.tar", docker_archive([old])))
    store.load(write(tmp_path / "new.tar", docker_archive([new])))
    assert [(s["Id"], s["RepoTags"]) for s in store.images()] == [(new.id, ["moving:1"])]
    # The old image has no name left: it is gone, and prune takes its blobs and layer.
    store.run("prune")
    assert store.listing("layers") == [chain_ids(new.diff_ids)[-1][7:]]
    assert len(store.listing("blobs", "sha256")) == 3  # manifest, config, layer


def test_loading_the_same_image_twice_keeps_one_copy(store, tmp_path):
    image = rich_image()
    archive = write(tmp_path / "rich.tar", docker_archive([image]))
    store.load(archive)
    layers, blobs = store.listing("layers"), store.listing("blobs", "sha256")
    assert store.load(archive) == ["rich:latest"]
    assert store.listing("layers") == layers and store.listing("blobs", "sha256") == blobs
    assert len(store.images()) == 1


FORMS = [
    ("docker", None, None, "legacy"),
    ("docker", "gzip", None, "legacy"),
    ("docker", None, "gzip", "legacy"),
    ("docker", "zstd", "zstd", "legacy"),
    ("docker", "gzip", None, "blobs"),
    ("oci", None, None, None),
    ("oci", "gzip", None, None),
    ("oci", "zstd", None, None),
    ("oci", "gzip", "zstd", None),
    ("oci", None, "xz", None),
    ("oci", ["gzip", None, "zstd"], None, None),
]


@pytest.mark.parametrize("form, layers, whole, layout", FORMS,
                         ids=[f"{f}-layers_{'_'.join(map(str, l)) if isinstance(l, list) else l}-archive_{w}"
                              + (f"-{o}" if o == "blobs" else "") for f, l, w, o in FORMS])
def test_archive_forms_give_the_same_image(store, tmp_path, form, layers, whole, layout):
    image = rich_image(compression=layers)
    if form == "docker":
        data = docker_archive([image], compression=whole, layout=layout)
    else:
        data = oci_archive([image], compression=whole)
    archive = write(tmp_path / "image.tar", data)
    assert store.load(archive) == ["rich:latest"]
    # The config is the same bytes whatever the compression: so is the id, and the diff ids.
    [inspected] = store.inspect("rich:latest")
    assert inspected["Id"] == image.id
    assert inspected["RootFS"]["Layers"] == image.diff_ids
    assert_view(store, "rich:latest", rich_layers(), tmp_path / "view")


def test_a_multi_platform_index_gives_linux_amd64(store, tmp_path):
    amd64 = small_image("multi:latest", marker="amd64", architecture="amd64")
    others = [small_image("multi:latest", marker="arm64", architecture="arm64"),
              small_image("multi:latest", marker="s390x", architecture="s390x")]
    archive = write(tmp_path / "multi.tar", oci_archive([amd64], nested=True, extra_images=others))
    assert store.load(archive) == ["multi:latest"]
    [inspected] = store.inspect("multi")
    assert inspected["Id"] == amd64.id and inspected["Architecture"] == "amd64"
    view = store.mount("multi", tmp_path / "view")
    try:
        assert open(os.path.join(view, "etc", "marker")).read() == "amd64\n"
    finally:
        store.umount(view)


def test_docker_hub_names_are_normalised(store, tmp_path):
    image = small_image("docker.io/library/busybox:1.36")
    archive = write(tmp_path / "hub.tar", docker_archive([image]))
    assert store.load(archive) == ["busybox:1.36"]
    assert store.inspect("docker.io/library/busybox:1.36")[0]["Id"] == image.id
    assert store.inspect("busybox:1.36")[0]["Id"] == image.id


def test_concurrent_loads_into_one_store(store, tmp_path):
    images = [rich_image(names=(f"rich{i}:latest",), compression=c) for i, c in enumerate((None, "gzip", "zstd"))]
    images += [small_image(f"small{i}:latest", marker=str(i)) for i in range(3)]
    archives = [write(tmp_path / f"{i}.tar", docker_archive([image])) for i, image in enumerate(images)]
    loaders = [subprocess.Popen(store.argv("load", "-i", archive), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for archive in archives]
    for loader in loaders:
        out, err = loader.communicate(timeout=300)
        assert loader.returncode == 0, err
    assert sorted(tag for s in store.images() for tag in s["RepoTags"]) == sorted(i.names[0] for i in images)
    # The three rich images are one image (the same config): one set of layers.
    assert len(store.listing("layers")) == 3 + 3
    assert_view(store, "rich2", rich_layers(), tmp_path / "view")
    assert store.listing("tmp") == []


# ---------------------------------------------------------------- ls and inspect

def test_ls_table_quiet_and_json(store, tmp_path):
    twice = small_image("first:1", marker="first")
    twice.names.append("second:2")
    undated = Image([[file("x", b"x")]], names=["undated:latest"], created=None)
    unnamed = small_image(None, marker="unnamed")
    archive = write(tmp_path / "images.tar", docker_archive([twice, undated]))
    assert sorted(store.load(archive)) == ["first:1", "second:2", "undated:latest"]
    store.load(write(tmp_path / "unnamed.tar", oci_archive([unnamed])))

    lines = store.run("ls").stdout.splitlines()
    assert re.match(r"^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s*$", lines[0]), lines[0]
    rows = {}
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == 5, line
        rows[(cells[0], cells[1])] = cells
    assert set(rows) == {("first", "1"), ("second", "2"), ("undated", "latest"), ("<none>", "<none>")}
    assert rows["first", "1"][2] == rows["second", "2"][2] == twice.id[7:19]
    assert rows["<none>", "<none>"][2] == unnamed.id[7:19]
    assert rows["first", "1"][3].endswith(" ago"), rows["first", "1"]
    assert rows["undated", "latest"][3] == "N/A"
    for cells in rows.values():
        assert re.match(r"^\d+(\.\d+)?\s?(B|kB|KB|MB|GB)$", cells[4]), cells

    quiet = store.run("ls", "-q").stdout.split()
    assert sorted(quiet) == sorted({twice.id[7:19], undated.id[7:19], unnamed.id[7:19]})
    full = store.run("ls", "-q", "--no-trunc").stdout.split()
    assert sorted(i.removeprefix("sha256:") for i in full) == sorted(i.id[7:] for i in (twice, undated, unnamed))
    assert twice.id[7:] in store.run("ls", "--no-trunc").stdout
    assert store.run("list", "-q").stdout.split() == quiet

    summaries = {s["Id"]: s for s in store.images()}
    assert set(summaries) == {twice.id, undated.id, unnamed.id}
    first = summaries[twice.id]
    assert sorted(first["RepoTags"]) == ["first:1", "second:2"]
    assert first["Created"] == CREATED_UNIX and first["ParentId"] == "" and first["RepoDigests"] == []
    assert first["Size"] > 0 and first["SharedSize"] == -1 and first["Containers"] == -1
    assert summaries[unnamed.id]["RepoTags"] == []


def test_inspect_shows_the_config(store, tmp_path):
    image = rich_image()
    store.load(write(tmp_path / "rich.tar", oci_archive([image])))
    [inspected] = store.inspect("rich")
    assert inspected["Id"] == image.id
    assert inspected["RepoTags"] == ["rich:latest"]
    assert inspected["Architecture"] == "amd64" and inspected["Os"] == "linux"
    assert inspected["Created"] == "2024-01-02T03:04:05Z"
    config = inspected["Config"]
    assert config["Entrypoint"] == ["/bin/tool"]
    assert config["Cmd"] == ["--flag", "x"]
    assert config["Env"] == ["PATH=/bin", "A=b c"]
    assert config["WorkingDir"] == "/data"
    assert config["User"] == "1000:1000"
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert config["Volumes"] == {"/data": {}}
    assert config["Labels"] == {"org.example.a": "1", "org.example.b": "2"}
    assert config["StopSignal"] == "SIGQUIT"
    assert inspected["RootFS"] == {"Type": "layers", "Layers": image.diff_ids}
    assert inspected["Keel"]["ChainIds"] == chain_ids(image.diff_ids)
    assert inspected["Keel"]["Base"] is False
    assert inspected["Keel"]["Manifest"] == digest(image.manifest_bytes())
    # Pretty-printed with a 4-space indent; by short id and by full id too.
    text = store.run("inspect", "rich").stdout
    assert text.startswith("[\n    {\n")
    assert store.inspect(image.id[7:19])[0]["Id"] == image.id
    assert store.inspect(image.id)[0]["Id"] == image.id
    assert store.inspect(digest(image.manifest_bytes()))[0]["Id"] == image.id


def test_inspect_nulls_what_the_config_lacks(store, tmp_path):
    bare = Image([[file("x", b"x")]], names=["bare:latest"], config={})
    store.load(write(tmp_path / "bare.tar", docker_archive([bare])))
    config = store.inspect("bare")[0]["Config"]
    for field in ("Entrypoint", "Cmd", "Env", "ExposedPorts", "Volumes", "Labels"):
        assert config.get(field) is None, (field, config)


def test_inspect_a_missing_reference(store, tmp_path):
    store.load(write(tmp_path / "small.tar", docker_archive([small_image()])))
    result = store.run("inspect", "small", "nothere", check=False)
    assert result.returncode == 1
    assert "keel image inspect: no such image: nothere" in result.stderr
    found = json.loads(result.stdout)
    assert [i["RepoTags"] for i in found] == [["small:latest"]]


def test_usage_errors_exit_100(store):
    for args in (["frobnicate"], ["ls", "--bogus"], ["load", "-i"], ["mount", "only-one"], []):
        result = store.run(*args, check=False)
        assert result.returncode == 100, (args, result.returncode, result.stderr)
        assert result.stderr.strip(), args


# ---------------------------------------------------------------- layers

def test_merged_view_has_exactly_the_layers_tree(store, tmp_path):
    store.load(write(tmp_path / "rich.tar", docker_archive([rich_image()])))
    view = tmp_path / "view"
    store.mount("rich", view)
    try:
        records = tree(str(view))
        difference = tree_difference(merged_tree(rich_layers()), records)
        assert not difference, "merged view differs:\n" + "\n".join(difference)
        # The same facts, spelled out.
        assert not os.path.lexists(view / "etc" / "deleted")
        assert not os.path.lexists(view / "dangling")
        assert sorted(os.listdir(view / "opaque")) == ["new", "third"]
        assert open(view / "etc" / "replaced").read() == "version 2\n"
        assert os.getxattr(view / "etc" / "config", "user.comment") == b"hello xattr"
        assert os.getxattr(view / "bin" / "ping", "security.capability")[:4] == bytes([1, 0, 0, 2])
        linked = os.stat(view / "data" / "linked")
        assert linked.st_ino == os.stat(view / "data" / "hard1").st_ino == os.stat(view / "bin" / "hard2").st_ino
        assert linked.st_nlink == 3
        assert os.stat(view / "bin" / "su").st_mode & 0o7777 == 0o4755
        assert os.stat(view / "bin" / "sg").st_mode & 0o7777 == 0o2711
        assert os.stat(view / "tmp").st_mode & 0o7777 == 0o1777
        assert os.readlink(view / "usr" / "lib") == "../bin"
        odd = os.stat(view / "data" / "odd-owner")
        assert (odd.st_uid, odd.st_gid, int(odd.st_mtime)) == (12345, 54321, 1000000000)
        # Read-only.
        with pytest.raises(OSError):
            open(view / "new-file", "w")
    finally:
        store.umount(view)
    assert not os.path.ismount(view)


def test_layers_on_disk_are_overlayfs_lower_directories(store, tmp_path):
    image = rich_image()
    store.load(write(tmp_path / "rich.tar", oci_archive([image])))
    chain = chain_ids(image.diff_ids)
    assert store.listing("layers") == sorted(c[7:] for c in chain)
    first, second, _ = (store.path("layers", c[7:]) for c in chain)
    # A whiteout is the character device 0:0; an opaque directory has trusted.overlay.opaque=y.
    deleted = os.lstat(os.path.join(second, "etc", "deleted"))
    assert os.major(deleted.st_rdev) == 0 and os.minor(deleted.st_rdev) == 0
    assert oct(deleted.st_mode & 0o170000) == oct(0o020000)
    assert os.getxattr(os.path.join(second, "opaque"), "trusted.overlay.opaque") == b"y"
    assert not os.path.lexists(os.path.join(second, ".wh..wh..opq"))
    assert not os.path.lexists(os.path.join(second, "opaque", ".wh..wh..opq"))
    assert not any(name.startswith(".wh.") for _, dirs, files in os.walk(second) for name in dirs + files)
    # Hard links are one inode within the layer.
    assert os.stat(os.path.join(first, "data", "linked")).st_ino == os.stat(os.path.join(first, "bin", "hard2")).st_ino
    assert os.stat(os.path.join(first, "dev", "null")).st_rdev == os.makedev(1, 3)


# ---------------------------------------------------------------- rm and prune

def blob_count(store):
    return len(store.listing("blobs", "sha256"))


def test_rm_untags_then_removes_blobs_and_layers(store, tmp_path):
    image = rich_image(names=("one:1", "two:2"))
    store.load(write(tmp_path / "rich.tar", docker_archive([image])))
    blobs = blob_count(store)
    assert blobs >= 5 and len(store.listing("layers")) == 3

    result = store.run("rm", "one:1")
    assert "Untagged: one:1" in result.stdout.splitlines()
    assert re.search(r"^Deleted: 0 blobs, 0 layers \(0(\.0)?\s?[kM]?B\)$", result.stdout, re.M), result.stdout
    assert [s["RepoTags"] for s in store.images()] == [["two:2"]]
    assert blob_count(store) == blobs and len(store.listing("layers")) == 3

    missing = store.run("rm", "two", check=False)  # "two" is "two:latest"
    assert missing.returncode == 1 and "no such image: two" in missing.stderr
    result = store.run("rmi", "two:2")  # the alias
    assert result.stdout.splitlines()[0] == "Untagged: two:2"
    # The contract writes the size as "X.YMB"; a human unit (B, kB, MB, GB) as ls's SIZE is taken too.
    match = re.search(r"^Deleted: (\d+) blobs, (\d+) layers \((\d+(\.\d+)?)\s?(B|kB|MB|GB)\)$", result.stdout, re.M)
    assert match and int(match.group(1)) == blobs and int(match.group(2)) == 3, result.stdout
    assert store.images() == []
    assert store.listing("blobs", "sha256") == [] and store.listing("layers") == []
    assert store.listing("tmp") == []


def test_rm_by_id_removes_every_name(store, tmp_path):
    image = small_image("a:1")
    image.names += ["b:2", "c:3"]
    store.load(write(tmp_path / "small.tar", docker_archive([image])))
    result = store.run("rm", image.id[7:19])
    assert sorted(line for line in result.stdout.splitlines() if line.startswith("Untagged")) == \
        ["Untagged: a:1", "Untagged: b:2", "Untagged: c:3"]
    assert store.images() == [] and store.listing("layers") == []


def test_rm_a_missing_reference_exits_1(store, tmp_path):
    store.load(write(tmp_path / "small.tar", docker_archive([small_image()])))
    result = store.run("rm", "nothere:1", check=False)
    assert result.returncode == 1 and "no such image: nothere:1" in result.stderr
    assert len(store.images()) == 1


def test_rm_keeps_layers_another_image_shares(store, tmp_path):
    base = [directory("etc"), file("etc/base", b"shared base layer\n")]
    first = Image([base, [file("first", b"1\n")]], names=["first:latest"])
    second = Image([base, [file("second", b"2\n")]], names=["second:latest"])
    store.load(write(tmp_path / "both.tar", oci_archive([first, second])))
    assert len(store.listing("layers")) == 3  # the base layer once
    store.run("rm", "first")
    assert store.listing("layers") == sorted(c[7:] for c in chain_ids(second.diff_ids))
    assert_view(store, "second", second.layers, tmp_path / "view")


def test_prune_keeps_the_layers_of_a_container(store, tmp_path):
    image = rich_image()
    store.load(write(tmp_path / "rich.tar", docker_archive([image])))
    rootfs = store.run("mount", "--container", "c1", "rich").stdout.strip()
    assert rootfs == store.path("containers", "c1", "rootfs")
    try:
        store.run("rm", "rich")
        # The image is gone, its blobs with it; the container still runs on its layers.
        assert store.images() == [] and store.listing("blobs", "sha256") == []
        assert len(store.listing("layers")) == 3
        assert open(os.path.join(rootfs, "etc", "added")).read() == "layer 3\n"
        assert re.match(r"^Deleted 0 blobs, 0 layers", store.run("prune").stdout)
        assert len(store.listing("layers")) == 3
    finally:
        store.run("umount", "--container", "c1")
    assert not os.path.exists(store.path("containers", "c1"))
    result = store.run("prune")
    assert re.match(r"^Deleted 0 blobs, 3 layers \(\d+(\.\d+)?\s?[kM]?B\)$", result.stdout.strip()), result.stdout
    assert store.listing("layers") == []


# ---------------------------------------------------------------- save

@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
@pytest.mark.parametrize("form", ["oci", "docker"])
def test_save_then_load_gives_the_same_image(store, tmp_path, form, compression):
    image = rich_image(compression=compression)
    store.load(write(tmp_path / "rich.tar", oci_archive([image])))
    saved = str(tmp_path / "saved.tar")
    store.run("save", "--format", form, "-o", saved, "rich:latest")
    members = archive_members(saved)
    if form == "oci":
        assert {"oci-layout", "index.json"} <= set(members)
        index = json.loads(members["index.json"])
        annotations = index["manifests"][0]["annotations"]
        assert annotations["io.containerd.image.name"] == "rich:latest"
        assert annotations["org.opencontainers.image.ref.name"] == "latest"
        for name, data in members.items():
            if name.startswith("blobs/sha256/") and data is not None:
                assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1], name
    else:
        [manifest] = json.loads(members["manifest.json"])
        assert manifest["RepoTags"] == ["rich:latest"]
        assert manifest["Config"] == image.id[7:] + ".json"
        assert manifest["Layers"] == [d[7:] + "/layer.tar" for d in image.diff_ids]
        for diff_id, layer in zip(image.diff_ids, manifest["Layers"]):
            assert digest(members[layer]) == diff_id  # uncompressed

    fresh = Store(tmp_path / "fresh")
    assert fresh.load(saved) == ["rich:latest"]
    [inspected] = fresh.inspect("rich:latest")
    assert inspected["Id"] == image.id and inspected["RootFS"]["Layers"] == image.diff_ids
    assert_view(fresh, "rich:latest", rich_layers(), tmp_path / "view")


def archive_members(path):
    with tarfile.open(path) as tar:
        return {m.name.rstrip("/"): (tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}


@pytest.mark.parametrize("form", ["oci", "docker"])
def test_save_is_deterministic(store, tmp_path, form):
    first, second = rich_image(names=("a:1",)), small_image("b:2")
    store.load(write(tmp_path / "images.tar", docker_archive([first, second])))
    one, two = str(tmp_path / "one.tar"), str(tmp_path / "two.tar")
    store.run("save", "--format", form, "-o", one, "a:1", "b:2")
    time.sleep(1.1)  # a clock in the archive would show
    store.run("save", "--format", form, "-o", two, "a:1", "b:2")
    piped = store.run("save", "--format", form, "a:1", "b:2", text=False).stdout
    data = open(one, "rb").read()
    assert data == open(two, "rb").read() == piped
    assert len(data) % 512 == 0
    fresh = Store(tmp_path / "fresh")
    assert sorted(fresh.load(one)) == ["a:1", "b:2"]
    assert {s["Id"] for s in fresh.images()} == {first.id, second.id}


def test_save_refuses_a_terminal_and_a_missing_image(store, tmp_path):
    store.load(write(tmp_path / "small.tar", docker_archive([small_image()])))
    child = pexpect.spawn(KEEL, store.argv("save", "small")[1:], timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0
    assert b"terminal" in child.before
    missing = store.run("save", "-o", str(tmp_path / "x.tar"), "nothere", check=False)
    assert missing.returncode in (1, 111) and "nothere" in missing.stderr
    assert not os.path.exists(tmp_path / "x.tar")


# ---------------------------------------------------------------- containers

def test_toolbox_runs_from_a_container_root(store, tmp_path):
    require_runtime()
    require_toolbox()
    assert store.load(TOOLBOX) == ["toolbox:latest"]
    [inspected] = store.inspect("toolbox")
    rootfs = store.run("mount", "--container", "c1", "toolbox").stdout.strip()
    assert rootfs == store.path("containers", "c1", "rootfs") and os.path.ismount(rootfs)
    bundle = Bundle(str(tmp_path / "oci"))
    config = inspected["Config"]
    bundle.config["root"] = {"path": rootfs, "readonly": False}
    bundle.config["process"]["env"] = config.get("Env") or bundle.config["process"]["env"]
    bundle.config["process"]["cwd"] = config.get("WorkingDir") or "/"
    try:
        result = bundle.run("/bin/sh", "-c", "echo hello from toolbox; busybox | head -1")
        assert result.returncode == 0, result.stderr
        assert "hello from toolbox" in result.stdout and "BusyBox v" in result.stdout, result.stdout

        # The image's own command: Entrypoint + Cmd (a shell reading its script from stdin).
        args = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
        assert args, config
        if os.path.basename(args[-1]) in ("sh", "ash", "bash"):
            result = bundle.run(*args, input="echo via the image command\n")
            assert result.returncode == 0 and "via the image command" in result.stdout, result.stderr

        # A write lands in the container's upper directory, never in the image's layers.
        result = bundle.run("/bin/sh", "-c", "echo written > /written && mkdir -p /var/made")
        assert result.returncode == 0, result.stderr
        upper = store.path("containers", "c1", "upper")
        assert open(os.path.join(upper, "written")).read() == "written\n"
        assert os.path.isdir(os.path.join(upper, "var", "made"))
        assert not any(os.path.exists(os.path.join(store.path("layers", layer), "written"))
                       for layer in store.listing("layers"))
    finally:
        store.run("umount", "--container", "c1")
    assert not os.path.exists(store.path("containers", "c1"))
    assert not os.path.ismount(rootfs)
    # A new container starts from the image again.
    rootfs = store.run("mount", "--container", "c2", "toolbox").stdout.strip()
    try:
        assert not os.path.exists(os.path.join(rootfs, "written"))
    finally:
        store.run("umount", "--container", "c2")


def test_container_mount_errors(store, tmp_path):
    store.load(write(tmp_path / "small.tar", docker_archive([small_image()])))
    store.run("mount", "--container", "c1", "small")
    try:
        again = store.run("mount", "--container", "c1", "small", check=False)
        assert again.returncode == 111 and "c1" in again.stderr
        bad = store.run("mount", "--container", "../escape", "small", check=False)
        assert bad.returncode in (100, 111) and not os.path.exists(store.path("escape"))
    finally:
        store.run("umount", "--container", "c1")
    missing = store.run("umount", "--container", "c1", check=False)
    assert missing.returncode != 0


# ---------------------------------------------------------------- a base store

def test_a_read_only_base_store_underneath(tmp_path):
    require_store()
    image = rich_image(names=("based:latest",))
    lower = Store(tmp_path / "A")
    lower.load(write(tmp_path / "rich.tar", oci_archive([image])))
    before = snapshot(lower.root)
    upper = Store(tmp_path / "B", base=tmp_path / "A")
    try:
        [summary] = upper.images()
        assert summary["Id"] == image.id and summary["RepoTags"] == ["based:latest"]
        assert upper.inspect("based")[0]["Keel"]["Base"] is True
        assert_view(upper, "based", rich_layers(), tmp_path / "view")

        refused = upper.run("rm", "based:latest", check=False)
        assert refused.returncode == 111 and "read-only base" in refused.stderr, refused.stderr
        assert [s["RepoTags"] for s in upper.images()] == [["based:latest"]]

        # A container of B over A's layers: its upper is B's.
        rootfs = upper.run("mount", "--container", "c1", "based").stdout.strip()
        assert rootfs == upper.path("containers", "c1", "rootfs")
        with open(os.path.join(rootfs, "new"), "w") as out:
            out.write("in B\n")
        upper.run("umount", "--container", "c1")

        # Another image in B; prune and rm in B never touch A.
        upper.load(write(tmp_path / "small.tar", docker_archive([small_image("mine:1")])))
        upper.run("prune")
        upper.run("rm", "mine:1")
        upper.run("prune")
        assert snapshot(lower.root) == before
        assert [s["RepoTags"] for s in upper.images()] == [["based:latest"]]
    finally:
        unmount_all_under(tmp_path)


def snapshot(root):
    """Every path under root with its type, size and mtime (to see that nothing changed)."""
    found = {}
    for directory_path, directories, files in os.walk(root):
        for name in directories + files:
            path = os.path.join(directory_path, name)
            if os.path.relpath(path, root) == "lock":
                continue
            info = os.lstat(path)
            found[os.path.relpath(path, root)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


# ---------------------------------------------------------------- crash safety

@pytest.fixture(scope="module")
def big_archive(tmp_path_factory):
    """About 50 MB over 5 layers (uncompressed: the load is spent writing files, not inflating)."""
    image = bulk_image("big:latest", layers=5, files=100, size=100 * 1024, seed=5)
    path = tmp_path_factory.mktemp("big") / "big.tar"
    write(path, docker_archive([image]))
    return str(path), image


@pytest.fixture(scope="module")
def load_seconds(big_archive, tmp_path_factory):
    """How long a whole load of big_archive takes here (kills are spread over it)."""
    require_store()
    reference = Store(tmp_path_factory.mktemp("reference") / "store")
    start = time.monotonic()
    reference.load(big_archive[0])
    return time.monotonic() - start


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95])
def test_a_killed_load_leaves_the_whole_image_or_nothing(tmp_path, big_archive, load_seconds, fraction):
    require_store()
    archive, image = big_archive
    killed = Store(tmp_path / "store")
    loader = subprocess.Popen(killed.argv("load", "-i", archive), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(load_seconds * fraction)
    loader.send_signal(signal.SIGKILL)
    loader.wait()
    try:
        images = killed.images()
        if images:
            [summary] = images
            assert summary["Id"] == image.id and summary["RepoTags"] == ["big:latest"]
            view = killed.mount("big", tmp_path / "view")
            try:
                files = sum(len(f) for _, _, f in os.walk(view))
                assert files == image.file_count()
                assert tree(view, xattrs=False) == merged_tree(image.layers, xattrs=False)
            finally:
                killed.umount(view)
        # The next writer to open the store (ls opens it read-only) removes what the killed one left in tmp/.
        killed.run("prune")
        assert killed.listing("tmp") == []
        if images:
            assert len(killed.listing("layers")) == 5
        else:
            assert killed.listing("layers") == [] and killed.listing("blobs", "sha256") == []
        # Whatever was left, loading again completes the image.
        assert killed.load(archive) == ["big:latest"]
        assert len(killed.listing("layers")) == 5
    finally:
        unmount_all_under(tmp_path)


# ---------------------------------------------------------------- the terminal

def test_progress_only_on_a_terminal(store, tmp_path, big_archive):
    archive, _ = big_archive
    child = pexpect.spawn(KEEL, store.argv("load", "-i", archive)[1:], timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    output = child.before.decode(errors="replace")
    assert child.exitstatus == 0, output
    assert "Unpacking layer" in output and "\r" in output, output[-500:]
    assert re.search(r"Unpacking layer [1-5]/5", output), output[-500:]
    assert "Loaded image: big:latest" in output

    fresh = Store(tmp_path / "quiet")
    child = pexpect.spawn(KEEL, fresh.argv("load", "-q", "-i", archive)[1:], timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    output = child.before.decode(errors="replace")
    assert child.exitstatus == 0 and "Unpacking" not in output and "Reading" not in output, output[-500:]

    piped = Store(tmp_path / "piped").run("load", "-i", archive)
    assert piped.stderr == "" and "\r" not in piped.stdout


def test_load_refuses_a_terminal_on_stdin(store):
    child = pexpect.spawn(KEEL, store.argv("load")[1:], timeout=30)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0
    assert b"refusing to read an archive from a terminal" in child.before
