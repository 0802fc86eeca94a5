"""kernel-config/check names every required option a kernel config lacks."""
import os
import subprocess

import pytest

from conftest import OUT

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "..", "kernel-config", "check")
KERNEL_CONFIG = os.path.join(OUT, "kernel", "config")


def check(*args):
    return subprocess.run([CHECK, *args], capture_output=True, text=True)


@pytest.fixture
def built_config():
    if not os.path.exists(KERNEL_CONFIG):
        pytest.skip(f"{KERNEL_CONFIG} not built (run make kernel)")
    with open(KERNEL_CONFIG) as config:
        return config.read()


def test_keel_kernel_config_passes(built_config):
    result = check("--builtin", KERNEL_CONFIG)
    assert result.returncode == 0, result.stdout
    assert "required options present" in result.stdout


def test_missing_options_are_named_with_their_fragment(built_config, tmp_path):
    lacking = built_config.replace("CONFIG_OVERLAY_FS=y\n", "").replace("CONFIG_SECCOMP_FILTER=y\n", "")
    config = tmp_path / "config"
    config.write_text(lacking)
    result = check(str(config))
    assert result.returncode == 1
    assert "missing: CONFIG_OVERLAY_FS (required by containers.config)" in result.stdout
    assert "missing: CONFIG_SECCOMP_FILTER (required by containers.config)" in result.stdout
    assert "2 of " in result.stdout


def test_module_counts_only_without_builtin(built_config, tmp_path):
    config = tmp_path / "config"
    config.write_text(built_config.replace("CONFIG_SQUASHFS=y\n", "CONFIG_SQUASHFS=m\n"))
    assert check(str(config)).returncode == 0
    strict = check("--builtin", str(config))
    assert strict.returncode == 1
    assert "CONFIG_SQUASHFS=m, must be built in" in strict.stdout


def test_unreadable_config_is_a_usage_error(tmp_path):
    result = check(str(tmp_path / "absent"))
    assert result.returncode == 100
    assert "cannot read kernel config" in result.stderr
