"""The benches' plain result table: one `label  value` row per measurement, labels aligned."""

from __future__ import annotations


def print_table(rows: list[tuple[str, str]], value_width: int = 0) -> None:
    """`value_width` right-aligns the values in a column that wide."""
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value:>{value_width}}")
