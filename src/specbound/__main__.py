"""``python -m specbound``: the same as the ``specbound`` command."""

from specbound.cli import main

if __name__ == "__main__":
    main()
