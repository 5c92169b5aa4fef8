"""nbval, number-aware: a decimal number may differ by one unit in its last printed digit.

Loaded by ``make nbval`` (``-p tests.nbval_tolerance``). nbval compares a chapter's stored
outputs with a fresh run as exact strings. Every number the chapters print comes from the
shipped networks or the pretrained one, so it is the same on every machine, except where a
value lies so close to a rounding boundary that another CPU instruction set or a GPU, which
round float32 arithmetic differently in the last bits, prints the neighbouring digit
(0.443 against 0.442). This plugin accepts exactly that and nothing more:

* the text around the numbers must be identical, and so must the count of numbers;
* integers (counts, indices, sizes, "12 of 1000") must be identical;
* a decimal number may differ by at most one unit in its last printed digit, and both must
  be printed with the same number of decimals.

Only outputs that nbval already found different are re-compared this way; what nbval finds
equal stays equal.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    if "." not in a or "." not in b:  # integers must match exactly
        return False
    da, db = Decimal(a), Decimal(b)
    ea, eb = da.as_tuple().exponent, db.as_tuple().exponent
    if ea != eb:  # printed with another number of decimals: a different format, not rounding
        return False
    return abs(da - db) <= Decimal(1).scaleb(ea)


def numbers_match(reference: str, test: str) -> bool:
    """Same text between the numbers, same integers, decimals within one unit of their last digit."""
    if NUMBER.sub("#", reference) != NUMBER.sub("#", test):
        return False
    ref_numbers, test_numbers = NUMBER.findall(reference), NUMBER.findall(test)
    return len(ref_numbers) == len(test_numbers) and all(_close(a, b) for a, b in zip(ref_numbers, test_numbers))


def _outputs_match(item, test: list, ref: list) -> bool:
    """The comparison of nbval's compare_outputs, with text values compared by :func:`numbers_match`."""
    from nbval.plugin import transform_streams_for_comparison

    skip = item.parent.skip_compare
    flat = []
    for outputs in (transform_streams_for_comparison(test), transform_streams_for_comparison(ref)):
        values: dict[str, list] = {}
        for out in outputs:
            for key, value in out.items():
                if key in skip:
                    continue
                if key == "data":
                    for mime, data in value.items():
                        if mime not in skip:
                            values.setdefault(mime, []).append(item.sanitize(data))
                else:
                    values.setdefault(key, []).append(item.sanitize(value))
        flat.append(values)
    tested, reference = flat
    if tested.keys() != reference.keys():
        return False
    for key, ref_values in reference.items():
        if len(ref_values) != len(tested[key]):
            return False
        for r, t in zip(ref_values, tested[key]):
            if r != t and not (isinstance(r, str) and isinstance(t, str) and numbers_match(r, t)):
                return False
    return True


def pytest_configure(config: pytest.Config) -> None:
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: nothing to extend
        return
    if getattr(IPyNbCell.compare_outputs, "_number_aware", False):
        return
    exact = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        if exact(self, test, ref, skip_compare):
            return True
        if skip_compare is None and _outputs_match(self, test, ref):
            self.comparison_traceback = []
            return True
        return False

    compare_outputs._number_aware = True
    IPyNbCell.compare_outputs = compare_outputs
