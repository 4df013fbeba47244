"""Check digits: 全国地方公共団体コード (6 digits) and 個人番号 (12 digits)."""

from __future__ import annotations


def lg_check_digit(first5: str) -> str:
    """Check digit of a 全国地方公共団体コード (weights 6..2, mod 11; 11−r, last digit).

    Raises:
        ValueError: ``first5`` is not 5 ASCII digits.
    """
    if len(first5) != 5 or not first5.isascii() or not first5.isdigit():
        raise ValueError(f"団体コード needs 5 digits before the check digit, got {first5!r}")
    remainder = sum(int(d) * w for d, w in zip(first5, (6, 5, 4, 3, 2), strict=True)) % 11
    return str((11 - remainder) % 10)


def is_valid_lg_code(code: str) -> bool:
    """True when ``code`` is 6 digits whose last is the 団体コード check digit."""
    return len(code) == 6 and code.isascii() and code.isdigit() and lg_check_digit(code[:5]) == code[5]


def my_number_check_digit(first11: str) -> str:
    """Check digit of a 12-digit 個人番号 (weights n+1 / n−5 from the right, mod 11).

    Raises:
        ValueError: ``first11`` is not 11 ASCII digits.
    """
    if len(first11) != 11 or not first11.isascii() or not first11.isdigit():
        raise ValueError("個人番号 needs 11 digits before the check digit")
    total = 0
    for n, digit in enumerate(reversed(first11), start=1):
        total += int(digit) * (n + 1 if n <= 6 else n - 5)
    remainder = total % 11
    return "0" if remainder <= 1 else str(11 - remainder)
