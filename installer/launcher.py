"""Entry point of the bundled executable: the same CLI as `python -m app`."""

import multiprocessing
import sys

from app.cli import entry_point

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(entry_point())
