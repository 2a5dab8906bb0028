"""The pages ``klgen latex`` rendered for klgen's own derivations, kept between runs.

Building a derivation (its rewrite stages) and typesetting it take SymPy seconds, yet the
page only changes when the code that makes it does: the derivations, rewrites and checker
(klgen.derive), the shipped specs, the templates, and the libraries that check and print
(SymPy, mpmath, latex2mathml, Jinja2). A page is kept under a key made of all of those and
of the options that shape it (name or --all, format, width, --no-check); only pages whose
every check passed are kept, and ``--recheck`` makes and checks the page again. A spec
file's derivations are never kept: what a spec file imports is not known before it runs.
Pages live in ``pages`` of klgen's cache folder (derive/diskcache.py).
"""

import argparse
from pathlib import Path

from klgen.derive import diskcache

FORMAT = 1  # of the kept pages: bump when what a key covers changes


def load(args: argparse.Namespace) -> str | None:
    """The page kept for these options, or None."""
    return diskcache.read(_path(args))


def keep(args: argparse.Namespace, page: str) -> None:
    """Keep ``page``, made for these options with every check passed."""
    diskcache.store(_path(args), page)


def _path(args: argparse.Namespace) -> Path:
    options = [FORMAT, args.name, args.all, args.format, args.width, args.no_check]
    label = "all" if args.all else args.name
    return diskcache.keyed_path("pages", label, args.format, options)
