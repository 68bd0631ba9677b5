"""``python tools/train_pair [options]``, or ``python -m train_pair`` with ``tools`` on the path."""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a folder: make the package importable by its name
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train_pair.main import main

raise SystemExit(main())
