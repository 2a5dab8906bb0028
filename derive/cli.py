"""The ``klgen`` command: regenerate and check the kernels, show the derivations, train.

Every failure ends in one line on stderr, never a traceback: exit 2 for bad arguments
(argparse's own message), 1 for a path that cannot be read or written (naming it and the
problem), a refused target or a failed check, 130 on Ctrl-C and 143 on SIGTERM during a
write. The heavy imports (sympy, jinja2) happen inside :func:`main`, so that Ctrl-C while
they load and a missing ``derive`` extra are reported the same way.
"""

import argparse
import functools
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import klgen

COMMANDS = ("generate", "check", "list", "latex", "train")
FORMATS = ("text", "tex", "md", "html")  # klgen latex --format
# The top-level module a missing optional dependency has, and the extra that brings it.
EXTRAS = {
    "sympy": "derive",
    "jinja2": "derive",
    "markupsafe": "derive",
    "latex2mathml": "derive",
    "tqdm": "train",
    "PIL": "train",
}


def main(argv: list[str] | None = None) -> int:
    """Run ``klgen`` with ``argv`` (default: sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in COMMANDS else None
    prog = f"klgen {command}" if command else "klgen"
    try:
        status = _dispatch(argv)
        sys.stdout.flush()  # a full disk or closed pipe on stdout is reported here, not at exit
        return status
    except KeyboardInterrupt as stop:
        files = sys.modules.get("klgen.derive.files")  # only its writes raise Terminated
        terminated = files is not None and isinstance(stop, files.Terminated)
        _say(f"{prog}: {'terminated' if terminated else 'interrupted'}")
        return 143 if terminated else 130
    except BrokenPipeError:
        _silence_stdout()  # the reader (say `| head`) has had enough: no message
        return 141
    except OSError as err:
        # Outside `train`, every file operation names its path; an OSError without one
        # comes from writing standard output.
        where = err.filename or (None if command == "train" else "standard output")
        _say(f"{prog}: {where}: {err.strerror or err}" if where else f"{prog}: {err}")
        return 1
    except UnicodeEncodeError as err:
        encoding = getattr(sys.stdout, "encoding", None)
        _say(
            f"{prog}: standard output ({encoding}) cannot show {err.object[err.start : err.end]!r};"
            " set PYTHONIOENCODING=utf-8"
        )
        return 1
    except ModuleNotFoundError as err:
        extra = EXTRAS.get((err.name or "").partition(".")[0])
        if extra is None:
            raise
        _say(
            f"{prog}: needs the {extra} extra (no module {err.name!r}): "
            f"pip install 'klgen[{extra}]'"
        )
        return 1


def _dispatch(argv: list[str]) -> int:
    if argv[:1] == ["train"]:  # the trainer parses its own options
        try:
            from klgen.vae.cli import main as train
        except ValueError as err:  # the kernels check the environment (KLGEN_NUM_THREADS)
            _say(f"klgen train: {err}")
            return 1
        return train(argv[1:], prog="klgen train")
    from klgen.derive.files import Refused

    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except Refused as err:
        _say(f"klgen {args.command}: {err}")
        return 1


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush finds no broken pipe."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (e.g. captured in tests)
        pass


def folder(text: str) -> Path:
    """An argparse type: a folder path, which must not be empty (that would mean '.')."""
    if not text:
        raise argparse.ArgumentTypeError("empty path")
    return Path(text)


def _parser() -> argparse.ArgumentParser:
    """The command line; standard library only, so ``--help`` and ``--version`` work where
    no extra is installed."""
    parser = argparse.ArgumentParser(
        prog="klgen",
        description="Derive divergences and their gradients with SymPy; generate checked kernels.",
    )
    parser.add_argument("--version", action="version", version=f"klgen {klgen.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="derive, render and write the kernels")
    generate.add_argument(
        "--out",
        type=folder,
        metavar="DIR",
        help="folder to write (default, in a checkout only: klgen's own generated/); refused if"
        " it holds .py files klgen did not write",
    )
    spec_argument(generate)
    generate.add_argument(
        "--backend",
        type=backends,
        default=("numpy",),
        metavar="LIST",
        help="with --spec: numpy and any of numba, torch, jax: numpy,torch,jax (default: numpy)",
    )
    generate.add_argument(
        "--tests", type=output_file, metavar="FILE", help="with --spec: also write a pytest module"
    )
    generate.add_argument(
        "--rerender",
        action="store_true",
        help="render klgen's own package again instead of taking the files kept by an earlier"
        " run of the same code (in $XDG_CACHE_HOME/klgen, else ~/.cache/klgen); a --spec"
        " package is always rendered",
    )
    generate.set_defaults(run=_generate)

    check = commands.add_parser("check", help="fail if generated/ differs from what klgen makes")
    check.add_argument(
        "--dir", type=folder, metavar="DIR", help="folder to check (default: klgen's generated/)"
    )
    spec_argument(check)
    check.add_argument("--backend", type=backends, default=("numpy",), metavar="LIST")
    check.set_defaults(run=_check)

    listing = commands.add_parser("list", help="the derivations, kernel specs and functions")
    listing.set_defaults(run=_list)

    latex = commands.add_parser("latex", help="show a derivation step by step, checked")
    latex_arguments(latex)
    spec_argument(latex)
    latex.set_defaults(run=_latex)

    commands.add_parser("train", help="train the numpy VAE on MNIST (klgen train --help)")
    return parser


def spec_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        type=output_file,
        metavar="FILE",
        help="a spec file defining KERNELS (klgen.Kernel): its kernels, not klgen's own",
    )


def backends(text: str) -> tuple[str, ...]:
    """An argparse type: a comma-separated list of backends."""
    chosen = tuple(dict.fromkeys(b.strip() for b in text.split(",")))
    unknown = [b for b in chosen if b not in ("numpy", "numba", "torch", "jax")]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"{text!r}: the backends are numpy, numba, torch and jax")
    if "numpy" not in chosen:
        raise argparse.ArgumentTypeError(
            "numpy is always generated (the others import it): give e.g. numpy,torch"
        )
    return chosen


def latex_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``klgen latex`` arguments (derive/show.py runs them)."""
    parser.add_argument("name", nargs="?", metavar="NAME", help="a derivation (klgen list)")
    parser.add_argument("--all", action="store_true", help="show every derivation")
    parser.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    parser.add_argument(
        "--out", type=output_file, metavar="FILE", help="write here (atomically) instead of stdout"
    )
    parser.add_argument(
        "--no-check", action="store_true", help="do not check the steps (about 20 s for --all)"
    )
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="check every step again instead of using the results cached for an unchanged"
        " derivation (in $XDG_CACHE_HOME/klgen, else ~/.cache/klgen)",
    )
    parser.add_argument(
        "--width",
        type=columns,
        metavar="N",
        help="text format: lines at most N columns (default: the terminal's width, else 80)",
    )


def columns(text: str) -> int:
    """An argparse type: a line width in columns, at least 40."""
    try:
        width = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of columns") from None
    if width < 40:
        raise argparse.ArgumentTypeError(f"{width} columns is too narrow: give at least 40")
    return width


def output_file(text: str) -> Path:
    """An argparse type: a file path; not empty, and not ending in a slash (a folder)."""
    if not text:
        raise argparse.ArgumentTypeError("empty path")
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text!r} names a folder; give a file name")
    return Path(text)


def _latex(args: argparse.Namespace) -> int:
    """Show derivations: a spec file's made now; klgen's own from the page kept by an earlier
    run of the same code and options (derive/pagecache.py) unless --recheck."""
    if args.spec:
        from klgen.derive import show

        return show.run(args, _spec_derivations(args.spec))
    from klgen.derive import pagecache
    from klgen.derive.files import write_or_print

    args.width = args.width or shutil.get_terminal_size().columns
    document = None if args.recheck else pagecache.load(args)
    status = 0
    if document is None:
        from klgen.derive import show
        from klgen.derive.package import every_derivation

        document, status = show.page(args, every_derivation())
        if status == 0:
            pagecache.keep(args, document)
    if document is not None:
        write_or_print(args.out, document)
    return status


def _generate(args: argparse.Namespace) -> int:
    """Write a package: a spec file's, rendered now; klgen's own from the files kept by an
    earlier run of the same code (derive/gencache.py) unless --rerender."""
    from klgen.derive import gencache
    from klgen.derive.files import Refused, default_directory, generate, is_checkout, write_file

    if args.spec is not None:
        if args.out is None:
            raise Refused("--spec needs --out DIR: the package to write the kernels into")
        render = _spec_renderer(args.spec, args.backend)
    elif args.tests or args.backend != ("numpy",):
        raise Refused("--tests and --backend are for kernels of a --spec file")
    elif args.out is None and not is_checkout():
        raise Refused(
            f"klgen is installed ({default_directory().parent}), not a checkout: its own "
            "generated/ is not rewritten; give --out DIR"
        )
    else:
        render = functools.partial(gencache.render_all, args.rerender)
    directory = args.out or default_directory()
    changed = generate(directory, render)
    for name in changed:
        print(f"wrote {directory / name}")
    if not changed:
        print(f"{directory}: up to date")
    if args.tests:
        write_file(args.tests, render.tests(directory, args.tests), only_klgens=True)
        print(f"wrote {args.tests}")
    return 0


class _SpecRenderer:
    """Renders a spec file's package when called (after the target folder passed its checks),
    turning what the user's spec gets wrong into one refusal line."""

    def __init__(self, spec, backends):
        self.spec, self.backends, self.kernels = spec, backends, None

    def load(self):
        from klgen.derive.files import Refused
        from klgen.derive.kernel import SpecError, load_spec

        if self.kernels is None:
            try:
                self.kernels = load_spec(self.spec)
            except SpecError as err:
                raise Refused(str(err)) from None
        return self.kernels

    def __call__(self):
        from klgen.derive import userpkg
        from klgen.derive.files import Refused
        from klgen.derive.printers import Unsupported

        try:
            return userpkg.render_package(self.load(), self.backends)
        except Unsupported as err:
            raise Refused(f"{self.spec}: {err}; nothing was written") from None
        except (ArithmeticError, TypeError, ValueError, NotImplementedError) as err:
            raise Refused(
                f"{self.spec}: klgen could not generate these kernels ({type(err).__name__}: "
                f"{err}); nothing was written. This is klgen's fault: please report it"
            ) from err

    def tests(self, directory, path):
        from klgen.derive import userpkg

        return userpkg.render_tests(self.load(), directory, path, self.backends)


def _spec_renderer(spec, backends) -> _SpecRenderer:
    return _SpecRenderer(spec, backends)


def _spec_derivations(spec) -> dict:
    from klgen.derive.kernel import derivation_of

    kernels = _SpecRenderer(spec, ("numpy",)).load()
    return {k.name: derivation_of(k) for k in kernels if k.derivation is not None}


def _check(args: argparse.Namespace) -> int:
    from klgen.derive import files

    if args.spec is not None and args.dir is None:
        raise files.Refused("--spec needs --dir DIR: the package generated from it")
    directory = args.dir or files.default_directory()
    renders = all(importlib.util.find_spec(m) for m in ("sympy", "jinja2", "latex2mathml"))
    if args.spec is not None:
        problems = files.check(directory, _spec_renderer(args.spec, args.backend))
    else:
        problems = files.check(directory) if renders else files.check_seals(directory)
    for problem in problems:
        print(f"{directory / problem.name}: {problem.reason}", file=sys.stderr)
        if problem.diff:
            print(problem.diff, file=sys.stderr)
    if any(p.foreign for p in problems):
        print("move away the files klgen did not write, then run `klgen generate`", file=sys.stderr)
    elif problems:
        again = f" --spec {args.spec} --out {directory}" if args.spec else ""
        if args.spec and args.backend != ("numpy",):
            again += f" --backend {','.join(args.backend)}"
        print(f"run `klgen generate{again}` to bring it up to date", file=sys.stderr)
    if problems:
        return 1
    if renders:
        print(f"{directory}: up to date")
    else:
        print(
            f"{directory}: every file's seal matches its text (no hand edits); without the"
            " derive extra it is not re-rendered: pip install 'klgen[derive]' for the full check"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    from klgen.derive.derivations import ALL
    from klgen.derive.package import compiled_twins, kernel_modules, shipped_derivations

    print("derivations (klgen latex NAME):")
    for name, derivation in {**ALL, **shipped_derivations()}.items():
        print(f"    {name}: {derivation.title}")
    print("generated modules (klgen generate), in generated/:")
    compiled = compiled_twins()
    for module in kernel_modules():
        twins = f" (twins: {module.name}_numba, _torch, _jax)"
        twin = twins if module.name in compiled else ""
        print(f"    {module.name}: {module.computes}{twin}")
        for function in module.functions:
            print(f"        {function}")
    return 0
