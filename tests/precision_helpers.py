# Copyright (c) mmsepvit contributors. All rights reserved.
"""How close autocast outputs must come to float32 ones."""

# Relative L2 distance of autocast outputs from fp32 ones. bfloat16 keeps 8
# bits of mantissa (relative step 2**-8 = 0.4 %; float16: 11 bits); bf16 on
# CPU measured over the four variants and both modes: 0.5 % (stage 1) to
# 1.5 % (stage 4, B).
AUTOCAST_TOLERANCE = 3e-2


def relative_error(outputs, references):
    """The largest relative L2 distance of ``outputs`` from
    ``references``, pair by pair, in float32."""
    return max(((out.float() - ref).norm() / ref.norm()).item()
               for out, ref in zip(outputs, references))
