# Copyright (c) mmsepvit contributors. All rights reserved.
"""What the CPU offers, read once from the operating system."""
import functools
import os.path as osp
import platform
from typing import FrozenSet, Optional

CPUINFO = '/proc/cpuinfo'


@functools.lru_cache(maxsize=None)
def _cpuinfo_field(name: str) -> str:
    if osp.exists(CPUINFO):
        with open(CPUINFO) as f:
            for line in f:
                if line.split(':', 1)[0].strip() == name:
                    return line.split(':', 1)[1].strip()
    return ''


_flags: Optional[FrozenSet[str]] = None


def cpu_flags() -> FrozenSet[str]:
    """The instruction-set flags Linux lists for the processor (empty where
    there is no ``/proc/cpuinfo``).

    Kept in a module variable once read: torch.compile takes it as a
    constant then, where it cannot trace the file read itself.
    """
    global _flags
    if _flags is None:
        _flags = frozenset(_cpuinfo_field('flags').split())
    return _flags


def cpu_has_amx_bf16() -> bool:
    """Whether the CPU has AMX tiles for bfloat16 matrix products (Intel
    Xeon from Sapphire Rapids on)."""
    return 'amx_bf16' in cpu_flags()


def cpu_name() -> str:
    """The processor's model name."""
    return (_cpuinfo_field('model name') or platform.processor()
            or platform.machine())
