"""Numbers written as text (xsd:double: decimal or scientific notation) converted to float64
exactly as Python's ``float()`` does, compiled with numba for the sheet scanner
(:mod:`models_py.ingest.ceads.xlsx_scan`).

Clinger's fast path takes a significand below 2^53 with a power of ten up to 22 (one exact
multiplication or division); the Eisel-Lemire algorithm, with a 128-bit table of powers of ten
rounded down, takes the rest of the significands of up to 19 digits. What neither can decide
with certainty (more than 19 significant digits, a halfway case, overflow, underflow) is left to
Python: :func:`parse_number` then says it did not convert.
"""
from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(inline="always")
def space(ch):
    """Whether byte ``ch`` is XML whitespace."""
    return ch == 32 or ch == 9 or ch == 10 or ch == 13


def _powers_of_ten() -> tuple[np.ndarray, np.ndarray]:
    """128-bit mantissas of 10^e, e in [-348, 347], rounded down, as (high, low) uint64."""
    hi, lo = [], []
    for e in range(-348, 348):
        if e >= 0:
            v = 10 ** e
            n = v.bit_length()
            v = v << (128 - n) if n <= 128 else v >> (n - 128)
        else:
            d = 10 ** -e
            v = (1 << (128 + d.bit_length())) // d
            v >>= v.bit_length() - 128
        hi.append(v >> 64)
        lo.append(v & ((1 << 64) - 1))
    return np.array(hi, dtype=np.uint64), np.array(lo, dtype=np.uint64)


_POW_HI, _POW_LO = _powers_of_ten()
_POW_MIN = -348
_EXACT = np.array([10.0 ** k for k in range(23)])


@numba.njit(inline="always")
def _mul128(a, b):
    """High and low 64 bits of the product of two uint64."""
    m32 = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    a_lo, a_hi = a & m32, a >> s32
    b_lo, b_hi = b & m32, b >> s32
    p0, p1, p2, p3 = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
    mid = (p0 >> s32) + (p1 & m32) + (p2 & m32)
    return p3 + (p1 >> s32) + (p2 >> s32) + (mid >> s32), (p0 & m32) | (mid << s32)


@numba.njit(inline="always")
def _leading_zeros(x):
    n = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if x >> np.uint64(64 - shift) == np.uint64(0):
            n += shift
            x = x << np.uint64(shift)
    return n


@numba.njit
def _eisel_lemire(man, exp10):
    """man x 10^exp10 (man > 0, at most 19 digits) correctly rounded, and whether the
    algorithm could decide it (it declines halfway cases, subnormals and overflow)."""
    if exp10 < _POW_MIN or exp10 > -_POW_MIN - 1:
        return 0.0, False
    clz = _leading_zeros(man)
    man = man << np.uint64(clz)
    exp2 = ((217706 * exp10) >> 16) + 64 + 1023 - clz
    k = exp10 - _POW_MIN
    x_hi, x_lo = _mul128(man, _POW_HI[k])
    m9 = np.uint64(0x1FF)
    if x_hi & m9 == m9 and x_lo + man < man:
        y_hi, y_lo = _mul128(man, _POW_LO[k])
        merged_hi, merged_lo = x_hi, x_lo + y_hi
        if merged_lo < x_lo:
            merged_hi += np.uint64(1)
        if (merged_hi & m9 == m9 and merged_lo + np.uint64(1) == np.uint64(0)
                and y_lo + man < man):
            return 0.0, False
        x_hi, x_lo = merged_hi, merged_lo
    msb = x_hi >> np.uint64(63)
    mantissa = x_hi >> (msb + np.uint64(9))
    exp2 -= 1 - int(msb)
    if x_lo == np.uint64(0) and x_hi & m9 == np.uint64(0) and mantissa & np.uint64(3) == \
            np.uint64(1):
        return 0.0, False
    mantissa += mantissa & np.uint64(1)
    mantissa = mantissa >> np.uint64(1)
    if mantissa >> np.uint64(53) > np.uint64(0):
        mantissa = mantissa >> np.uint64(1)
        exp2 += 1
    if exp2 <= 0 or exp2 >= 0x7FF:
        return 0.0, False
    return math.ldexp(float(mantissa), exp2 - 1075), True


@numba.njit
def parse_number(buf, s, e):
    """The number written in ``buf[s:e]`` (xsd:double lexical form, surrounding whitespace
    allowed), and whether it was converted; False for anything else and for the numbers only
    Python's float() should round."""
    while s < e and space(buf[s]):
        s += 1
    while e > s and space(buf[e - 1]):
        e -= 1
    if s >= e:
        return 0.0, False
    neg = False
    if buf[s] == 45 or buf[s] == 43:             # - +
        neg = buf[s] == 45
        s += 1
    man = np.uint64(0)
    digits = 0                                   # significant digits kept in man
    exp10 = 0
    seen_digit = False
    fraction = False
    truncated = False
    while s < e:
        ch = buf[s]
        if 48 <= ch <= 57:
            seen_digit = True
            if digits < 19:
                if digits > 0 or ch != 48:
                    man = man * np.uint64(10) + np.uint64(ch - 48)
                    digits += 1
                if fraction:
                    exp10 -= 1
            else:
                if ch != 48:
                    truncated = True
                if not fraction:
                    exp10 += 1
        elif ch == 46 and not fraction:          # .
            fraction = True
        else:
            break
        s += 1
    if not seen_digit:
        return 0.0, False
    if s < e and (buf[s] == 101 or buf[s] == 69):   # e E
        s += 1
        exp_neg = False
        if s < e and (buf[s] == 45 or buf[s] == 43):
            exp_neg = buf[s] == 45
            s += 1
        if s >= e:
            return 0.0, False
        power = 0
        while s < e and 48 <= buf[s] <= 57:
            if power < 100000:
                power = power * 10 + (buf[s] - 48)
            s += 1
        exp10 += -power if exp_neg else power
    if s != e or truncated:
        return 0.0, False
    if man == np.uint64(0):
        return -0.0 if neg else 0.0, True
    if man < np.uint64(1 << 53) and -22 <= exp10 <= 22:
        value = float(man)
        value = value * _EXACT[exp10] if exp10 >= 0 else value / _EXACT[-exp10]
        return -value if neg else value, True
    value, ok = _eisel_lemire(man, exp10)
    return -value if neg else value, ok
