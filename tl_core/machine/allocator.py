"""Keep the memory a training step frees for the next step, instead of handing it back to the kernel.

A small network's training step allocates and frees the same activation buffers every step, a few MiB each. glibc's
malloc serves a block above its mmap threshold (128 KiB to start with) from a fresh `mmap` and unmaps it when freed,
raising the threshold only as it sees such blocks come and go, and it trims the top of its heap back to the kernel
whenever more than twice that threshold lies free there. Which state a process reaches depends on everything it
allocated before: a fresh process, such as the one that times the pace a promise is made at, faulted 1,100–6,600
pages back in every step (each zeroed by the kernel; with two threads, both wait on the process's memory lock).
So the promise was timed slow: four fresh timings read 3,440–6,824 images a second where the runs in the server's
long-lived workers trained at 6,000–7,500, and lesson 4's card promised 233 s for 158 s. Fixing both thresholds
where glibc's own adjustment would end (an mmap threshold of 32 MiB, trimming above 64 MiB) gives every process
the fast state from its first step (`python bench/allocator.py`: 1,662 faults a step against 11, 20.4 ms of CPU
against 16.1). Larger blocks (a big network's activations) are still mapped and
unmapped; the memory a process holds at its peak is unchanged.
"""
from __future__ import annotations

import ctypes
import functools
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: where its own adjustment stops
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # glibc sets twice the mmap threshold when it adjusts it


@functools.cache
def hold_freed_memory() -> bool:
    """Fix glibc malloc's thresholds for this process (once; later calls do nothing). False where the C library is
    not glibc (macOS, musl): there is nothing to set, and those allocators keep freed memory their own way."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                                        TRIM_THRESHOLD))
