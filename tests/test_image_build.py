"""The OS image is reproducible: the same inputs give a byte-identical squashfs."""
import hashlib
import os
import shutil
import subprocess

import pytest

from conftest import OUT

BUILD_IMAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "os", "build-image")


def build(tmp_path, name):
    out = tmp_path / name
    for binary in ("bin/keel", "bin/keelos", "libexec/keel/container-init"):
        (out / binary).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(OUT, binary), out / binary)
    subprocess.run([BUILD_IMAGE, str(out)], check=True, capture_output=True)
    return hashlib.sha256((out / "os" / "usr.sqfs").read_bytes()).hexdigest()


def test_os_image_is_reproducible(tmp_path):
    if not os.path.exists(os.path.join(OUT, "bin", "keel")):
        pytest.skip("out/bin/keel not built (run make)")
    assert build(tmp_path, "first") == build(tmp_path, "second")
