# Copyright (c) mmsepvit contributors. All rights reserved.
"""The errors a user can fix.

Every error mmsepvit raises for bad input derives from :class:`UserError`;
its message says what was wrong and what would be valid. The tools catch
this one type and stop with the message alone, so a user never sees a
traceback for a mistake of theirs.
"""
import os


class UserError(Exception):
    """A mistake in the input (a file, a config value, a checkpoint) that
    the user can fix; the message says what was wrong and what is valid."""


class MissingInputError(UserError, FileNotFoundError):
    """A file or folder the user named (or a config names) does not
    exist."""


class UnusableInputError(UserError, ValueError):
    """A file that exists but cannot be used as what it was given for."""


class ConfigMismatchError(UserError, ValueError):
    """Parts of the config's model do not fit together."""


def require_file(path: str, what: str) -> None:
    """Raise :class:`MissingInputError` unless ``path`` is a file; ``what``
    says what it was given as (``'checkpoint'``, ``'image'``, ...)."""
    if not os.path.isfile(path):
        raise MissingInputError(f'{what} {path} does not exist.')
