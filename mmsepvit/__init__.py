# Copyright (c) mmsepvit contributors. All rights reserved.
from .version import __version__, version_info

__all__ = ['__version__', 'version_info']
