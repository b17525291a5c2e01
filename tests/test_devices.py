"""The dtype policy ``auto`` picks: mixed bfloat16 exactly on CPUs whose flags name bf16."""

from __future__ import annotations

from pathlib import Path

import pytest

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
