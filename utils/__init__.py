"""Shared logic of the Cityscapes UNet notebook series."""

import os

# TensorFlow's caching (BFC) allocator for tensors in CPU memory, rather than its default, which
# returns every large tensor to the system when it is freed: each training step then maps its
# activations afresh and the kernel zeroes every page (model 2: 20,000-60,000 page faults a step
# and a tenth of it in system time on the 2-core CPU). Model 2's step in 0.82x the time at best,
# with less peak memory (``benchmarks/bench_allocator.py``, AVX2 EPYC); a 33-minute real-data
# run gained less (Semantic_out_2/README.md). TensorFlow reads the variable when it allocates
# its first tensor, so it is set here, where any ``import utils...`` runs first; a value already
# in the environment wins (``TF_CPU_ALLOCATOR_USE_BFC=false`` for TensorFlow's default).
CPU_ALLOCATOR_ENV = "TF_CPU_ALLOCATOR_USE_BFC"
os.environ.setdefault(CPU_ALLOCATOR_ENV, "true")
