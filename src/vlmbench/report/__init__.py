"""Reporting: statistics, tables, charts, compare and the static site, from CSV files only."""
