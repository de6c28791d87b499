"""What the training loops share: the learning-rate schedule and whether this CPU trains fast in bf16."""
from __future__ import annotations

import math
from pathlib import Path


def cosine_lr(progress: float, step: int, peak: float, warmup: int, min_ratio: float) -> float:
    """Warm up over the first steps, then cosine down to peak * min_ratio at the end of the budget."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(max(progress, 0.0), 1.0)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def cpu_has_fast_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
