"""Keel's image store beside real clients (Debian's skopeo and umoci), as root on the host: skopeo's
oci-archive, docker-archive and dir forms of an image load alike; skopeo reads what `keel image save`
writes; umoci unpacks the same image into the very tree keel's merged view shows."""
import json
import os
import shutil
import subprocess

import pytest

from image_archives import (TOOLBOX, Image, Store, digest, file, merged_tree, oci_archive, require_toolbox,
                            rich_image, rich_layers, store, symlink, tree, tree_difference, unpack_archive,
                            write)  # noqa: F401 (store is a fixture)


def require_tool(name):
    if shutil.which(name) is None:
        pytest.skip(f"{name} not installed (Debian's {name} package)")


def skopeo(*args, timeout=300):
    # Local files only: no signature policy applies (the host may have none).
    result = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"skopeo {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return result.stdout


def identity(store, reference, view):
    """What must not change when a client re-serialises an image: diff ids, the config a container uses,
    and the merged tree."""
    [inspected] = store.inspect(reference)
    return inspected["RootFS"]["Layers"], inspected["Config"], store.view(reference, view)


def assert_same_tree(expected, actual, what):
    difference = tree_difference(expected, actual)
    assert not difference, f"{what}:\n" + "\n".join(difference[:40])


def image_source(name, tmp_path):
    """An OCI archive to work with: the toolbox (built by images/build), or the richer test image
    (several layers, whiteouts, an opaque directory, links, devices, setuid, xattrs)."""
    if name == "toolbox":
        require_toolbox()
        return TOOLBOX, "toolbox:latest"
    if name == "implicit":
        return write(tmp_path / "implicit.tar", oci_archive([implicit_image()])), "implicit:latest"
    return write(tmp_path / "rich.tar", oci_archive([rich_image(compression="gzip")])), "rich:latest"


def implicit_image():
    """Entries whose parent directories the layer does not list: the unpacker makes them."""
    return Image([[file("a/b/c/file", b"deep\n"), symlink("x/y/link", "../../a"), file("a/top", b"top\n")],
                  [file("a/b/second", b"layer 2\n"), file("z/new", b"new\n")]], names=["implicit:latest"])


# ---------------------------------------------------------------- skopeo's forms, loaded by keel

@pytest.mark.parametrize("source", ["toolbox", "rich"])
def test_skopeo_forms_load_alike(store, tmp_path, source):
    require_tool("skopeo")
    archive, name = image_source(source, tmp_path)
    store.load(archive)
    expected_layers, expected_config, expected_tree = identity(store, name, tmp_path / "view")
    if source == "rich":
        assert_same_tree(merged_tree(rich_layers()), expected_tree, "keel's view of the rich image")

    forms = {}
    forms["docker-archive"] = str(tmp_path / "docker.tar")
    skopeo("copy", f"oci-archive:{archive}", f"docker-archive:{forms['docker-archive']}:{name}")
    # keel does not load skopeo's dir: form; it goes back through both archive forms.
    directory = str(tmp_path / "dir")
    skopeo("copy", f"oci-archive:{archive}", f"dir:{directory}")
    assert os.path.exists(os.path.join(directory, "manifest.json"))
    forms["dir-to-oci-archive"] = str(tmp_path / "from-dir-oci.tar")
    skopeo("copy", f"dir:{directory}", f"oci-archive:{forms['dir-to-oci-archive']}:{name}")
    forms["dir-to-docker-archive"] = str(tmp_path / "from-dir-docker.tar")
    skopeo("copy", f"dir:{directory}", f"docker-archive:{forms['dir-to-docker-archive']}:{name}")

    for form, path in forms.items():
        fresh = Store(tmp_path / f"store-{form}")
        # skopeo may re-serialise the config (a docker-archive holds Docker's config form), so the id
        # may change: the diff ids, the config's contents and the tree may not.
        assert fresh.load(path, "--name", name) == [name], form
        layers, config, view = identity(fresh, name, tmp_path / f"view-{form}")
        assert layers == expected_layers, form
        for field in ("Entrypoint", "Cmd", "Env", "WorkingDir", "User", "Labels"):
            assert config.get(field) == expected_config.get(field), (form, field)
        assert_same_tree(expected_tree, view, f"{form} differs from the original")


# ---------------------------------------------------------------- skopeo reads keel's archives

@pytest.mark.parametrize("form", ["oci", "docker"])
@pytest.mark.parametrize("source", ["toolbox", "rich"])
def test_skopeo_reads_what_keel_saves(store, tmp_path, source, form):
    require_tool("skopeo")
    archive, name = image_source(source, tmp_path)
    store.load(archive)
    [inspected] = store.inspect(name)
    saved = str(tmp_path / "saved.tar")
    store.run("save", "--format", form, "-o", saved, name)
    transport = "oci-archive" if form == "oci" else "docker-archive"

    described = json.loads(skopeo("inspect", f"{transport}:{saved}"))
    config = json.loads(skopeo("inspect", "--config", f"{transport}:{saved}"))
    assert config["rootfs"]["diff_ids"] == inspected["RootFS"]["Layers"]
    # Both formats keep the config's bytes: the id holds.
    raw = subprocess.run(["skopeo", "--insecure-policy", "inspect", "--raw", "--config", f"{transport}:{saved}"],
                         capture_output=True, timeout=300, check=True).stdout
    assert digest(raw) == inspected["Id"]
    assert len(described["Layers"]) == len(inspected["RootFS"]["Layers"])
    if form == "docker":
        assert described["Layers"] == inspected["RootFS"]["Layers"]  # layers stored uncompressed

    directory = str(tmp_path / "dir")
    skopeo("copy", f"{transport}:{saved}", f"dir:{directory}")
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    for layer in manifest["layers"]:
        assert os.path.exists(os.path.join(directory, layer["digest"].split(":")[1])), layer
    # And back: dir -> OCI archive -> keel, the same image.
    back = str(tmp_path / "back.tar")
    skopeo("copy", f"dir:{directory}", f"oci-archive:{back}:{name}")
    fresh = Store(tmp_path / "fresh")
    assert fresh.load(back, "--name", name) == [name]
    assert fresh.inspect(name)[0]["RootFS"]["Layers"] == inspected["RootFS"]["Layers"]
    assert_same_tree(store.view(name, tmp_path / "view"), fresh.view(name, tmp_path / "view2"),
                     "after keel save -> skopeo -> keel")


# ---------------------------------------------------------------- umoci unpacks the same tree

def oci_layout(archive, directory):
    """An OCI archive extracted into an OCI layout directory, and the ref name umoci should use."""
    unpack_archive(archive, directory)
    index = json.load(open(os.path.join(directory, "index.json")))
    references = [m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]]
    references = [r for r in references if r]
    assert references, f"no org.opencontainers.image.ref.name in {directory}/index.json: {index}"
    return references[0]


def umoci_tree(tmp_path, archive, label, dir_mtimes=True):
    layout = str(tmp_path / f"layout-{label}")
    reference = oci_layout(archive, layout)
    bundle = str(tmp_path / f"bundle-{label}")
    # As root umoci keeps owners, devices and xattrs: no --rootless.
    result = subprocess.run(["umoci", "unpack", "--image", f"{layout}:{reference}", bundle], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"umoci unpack exited {result.returncode}: {result.stderr}"
    # Directory mtimes are compared too: umoci sets them after their contents, as keel does. Not for
    # directories a layer does not list (dir_mtimes=False): each unpacker makes those at its own time.
    return tree(os.path.join(bundle, "rootfs"), dir_mtimes=dir_mtimes)


@pytest.mark.parametrize("source", ["toolbox", "rich", "implicit"])
def test_umoci_unpacks_the_tree_keel_shows(store, tmp_path, source):
    require_tool("umoci")
    archive, name = image_source(source, tmp_path)
    store.load(archive)
    dir_mtimes = source != "implicit"
    keel_view = store.view(name, tmp_path / "view", dir_mtimes=dir_mtimes)
    assert_same_tree(umoci_tree(tmp_path, archive, "source", dir_mtimes), keel_view,
                     f"umoci's rootfs of {name} vs keel's view")
    if source == "rich":
        assert_same_tree(merged_tree(rich_layers()), keel_view, "keel's view vs the layers' tree")

    # umoci reads keel's own OCI archive too, into the same tree.
    saved = str(tmp_path / "saved.tar")
    store.run("save", "--format", "oci", "-o", saved, name)
    assert_same_tree(umoci_tree(tmp_path, saved, "saved", dir_mtimes), keel_view,
                     f"umoci's rootfs of keel's save of {name}")
