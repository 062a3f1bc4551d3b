"""`python -m cirrostratus` is `cirro`."""

from cirrostratus.cli import main

main()
