"""``python -m skmil``: the same as the ``skmil`` console script."""

from .cli import main

raise SystemExit(main())
