# Copyright (c) mmsepvit contributors. All rights reserved.
"""The errors a user can fix.

Every error mmsepvit raises for bad input derives from :class:`UserError`;
its message says what was wrong and what would be valid. The tools catch
this one type and stop with the message alone, so a user never sees a
traceback for a mistake of theirs.
"""


class UserError(Exception):
    """A mistake in the input (a file, a config value, a checkpoint) that
    the user can fix; the message says what was wrong and what is valid."""
