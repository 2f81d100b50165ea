"""argparse types for comma-separated lists; they live in ``vlmbench.vocab.listargs`` (below
every layer that parses options)."""

from vlmbench.vocab.listargs import float_list, int_list

__all__ = ["float_list", "int_list"]
