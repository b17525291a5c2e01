"""The dtype policy ``auto`` picks: mixed bfloat16 exactly on CPUs whose flags name bf16; the
CPU allocator ``import utils`` asks TensorFlow for."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import utils
from utils import devices

EPYC_AVX2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
EPYC_BF16 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"


@pytest.mark.parametrize(("cpuinfo", "has"), [(EPYC_AVX2, False), (EPYC_BF16, True)])
def test_cpu_has_bf16_reads_the_flags(tmp_path: Path, cpuinfo: str, has: bool) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    assert devices.cpu_has_bf16(path) is has


def test_cpu_has_bf16_is_false_without_cpuinfo(tmp_path: Path) -> None:
    assert devices.cpu_has_bf16(tmp_path / "missing") is False


@pytest.mark.parametrize(("bf16", "policy"), [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_follows_the_cpu_and_off_or_a_name_wins(
    monkeypatch: pytest.MonkeyPatch, bf16: bool, policy: str
) -> None:
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: bf16)  # the test machine has no GPU
    assert devices.precision_policy("auto") == policy
    assert devices.precision_policy("off") == "float32"
    assert devices.precision_policy("mixed_float16") == "mixed_float16"


def test_importing_utils_picks_the_caching_cpu_allocator_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``import utils`` sets ``TF_CPU_ALLOCATOR_USE_BFC=true``; a value already set wins."""
    monkeypatch.delenv(utils.CPU_ALLOCATOR_ENV, raising=False)
    importlib.reload(utils)
    assert os.environ[utils.CPU_ALLOCATOR_ENV] == "true"
    monkeypatch.setenv(utils.CPU_ALLOCATOR_ENV, "false")
    importlib.reload(utils)
    assert os.environ[utils.CPU_ALLOCATOR_ENV] == "false"


# Frees and re-allocates a 64 MiB tensor (above glibc's largest mmap threshold, so the default
# allocator hands it back to the system each time); prints the page faults of the loop.
FAULTS = """
import resource, sys
import utils, tensorflow as tf
x = tf.zeros((1 << 24,))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    x = tf.zeros((1 << 24,)) + 1.0
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_the_caching_allocator_keeps_memory_mapped_between_steps() -> None:
    """Under ``import utils``'s setting TensorFlow re-uses its large buffers; with ``false`` (its
    default) every one comes back from the system as fresh pages, each faulted in and zeroed."""
    faults = {}
    for value in ("true", "false"):
        env = {**os.environ, utils.CPU_ALLOCATOR_ENV: value, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True,
                              text=True, check=True)  # fmt: skip
        faults[value] = int(done.stdout.split()[-1])
    assert faults["true"] < faults["false"] / 4, faults
