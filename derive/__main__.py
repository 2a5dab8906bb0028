"""``python -m derive`` is the ``klgen`` command."""

from derive.cli import main

raise SystemExit(main())
