"""How numbers read in every sentence and table the tool writes: percentages, plain numbers, signed
differences and confidence intervals. The one home of that formatting, so a finding, a gate message
and a CLI line that quote the same interval quote it the same way. Imports nothing from ``core``.
"""
from __future__ import annotations

import math


def missing(x) -> bool:
    """None or NaN: a number that was not measured."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x, spec: str = ".2f") -> str:
    """``x`` with the format ``spec`` ('.0%', '.2f', '+.1%'...); 'n/a' when it was not measured. A
    negative zero reads as zero ('0.00', not '-0.00') unless the spec asks for a sign."""
    if missing(x) or (isinstance(x, float) and math.isinf(x)):
        return "n/a"
    text = f"{x:{spec}}"
    if not spec.startswith("+") and text.startswith("-") and text.strip("-0.%") == "":
        text = text[1:]
    return text


def pct(x, digits: int = 0) -> str:
    """'42%' (or 'n/a')."""
    return number(x, f".{digits}%")


def interval(low, high, *, spec: str = ".0%", scale: float = 1.0, label: str = "95% CI",
             brackets: bool = False, joiner: str | None = None) -> str:
    """One confidence interval as the tool writes it everywhere.

    ``spec`` formats each end (after multiplying by ``scale``: 100 turns a share into points).
    Unsigned ends are joined by an en dash ('95% CI 40%–60%'); signed ends, which may be
    negative, by 'to' ('paired 95% CI -3 to +5'), or by ``joiner``; ``brackets`` gives the fixed-width text form
    ('[0.400, 0.600]'). ``label`` comes first ('95% CI', 'paired 95% CI', or '' for none).
    """
    lo, hi = (None if missing(v) else v * scale for v in (low, high))
    if brackets:
        return f"[{number(lo, spec)}, {number(hi, spec)}]"
    joiner = joiner or (" to " if spec.startswith("+") else "–")
    return f"{label} {number(lo, spec)}{joiner}{number(hi, spec)}".strip()
