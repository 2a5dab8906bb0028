"""``python -m klgen`` is the ``klgen`` command."""

from klgen.derive.cli import main

raise SystemExit(main())
