"""``python -m kanjo``."""

from kanjo.cli import main

main()
