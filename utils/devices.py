"""Where and in which precision training runs: distribution strategy and Keras dtype policy."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import tensorflow as tf

log = logging.getLogger(__name__)

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # CPUs with native bfloat16 matrix instructions


def choose_strategy():  # noqa: ANN201 - tf.distribute.Strategy
    """TPU on Colab if present, several GPUs: mirrored, otherwise the default strategy."""
    if os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"):
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
        except (ValueError, RuntimeError) as e:
            log.warning("TPU announced but not usable (%s); using the default strategy", e)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has native bfloat16 matrix instructions (Linux ``/proc/cpuinfo``)."""
    try:
        flags = cpuinfo.read_text()
    except OSError:
        return False
    return any(f" {flag}" in flags for flag in BF16_CPU_FLAGS)


def precision_policy(mode: str = "auto", strategy=None) -> str:  # noqa: ANN001
    """The Keras dtype policy for ``mode``: auto picks mixed precision where hardware has it.

    auto: mixed_float16 on GPUs of compute capability >= 7, mixed_bfloat16 on TPUs and on CPUs
    with native bfloat16 (AVX512-BF16/AMX; on a 2-core AVX512-BF16 EPYC, 0.84-0.94x model 2's
    float32 step: ``benchmarks/bench_step.py --precision``), else float32. ``off`` = float32; any
    other value is used as the policy name.
    """
    if mode == "off":
        return "float32"
    if mode != "auto":
        return mode
    if strategy is not None and isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return "mixed_float16" if details.get("compute_capability", (0, 0))[0] >= 7 else "float32"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"
