"""Errors that the command line turns into one line on stderr and exit code 2."""

from __future__ import annotations


class VlmbenchError(Exception):
    """Base class of errors with a message meant for the user."""


class UsageError(VlmbenchError):
    """Bad input: names the input and what is wrong. The CLI exits with code 2."""


class SchemaError(VlmbenchError):
    """A results file this version cannot read."""


class PromptSetError(UsageError):
    """A prompt-set image is missing or modified, or a prompt id is unknown."""
