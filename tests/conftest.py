# Copyright (c) mmsepvit contributors. All rights reserved.
import sys
from pathlib import Path

# Test helpers shared across folders (e.g. sepvit_reference) import by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
