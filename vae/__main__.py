"""``python -m klgen.vae``: the trainer's command line (vae/cli.py).

The kernels check the environment (KLGEN_NUM_THREADS) when vae.cli imports them; a bad
setting is one line and exit status 1 here, as in ``klgen train``.
"""

import sys

try:
    from klgen.vae.cli import main
except ValueError as err:
    print(f"python -m klgen.vae: {err}", file=sys.stderr)
    sys.exit(1)

sys.exit(main())
