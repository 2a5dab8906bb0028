"""The ``klgen`` command: regenerate and check the kernels, show the derivations, train."""

import argparse
import sys
from pathlib import Path

from derive import show


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # the trainer parses its own options
        from vae.__main__ import main as train

        return train(argv[1:], prog="klgen train")
    parser = _parser()
    args = parser.parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="klgen",
        description="Derive the Gaussian KL divergence with SymPy and generate numpy kernels.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="derive, render and write the kernels")
    generate.add_argument(
        "--out", type=Path, help="folder to write (default: the generated package)"
    )
    generate.set_defaults(run=_generate)

    check = commands.add_parser("check", help="fail if generated/ differs from what klgen makes")
    check.add_argument("--dir", type=Path, help="folder to check (default: the generated package)")
    check.set_defaults(run=_check)

    listing = commands.add_parser("list", help="the derivations, kernel specs and functions")
    listing.set_defaults(run=_list)

    latex = commands.add_parser("latex", help="show a derivation step by step, checked")
    show.add_arguments(latex)
    latex.set_defaults(run=show.run)

    commands.add_parser("train", help="train the numpy VAE on MNIST (klgen train --help)")
    return parser


def _generate(args: argparse.Namespace) -> int:
    from derive.files import default_directory, generate

    directory = args.out or default_directory()
    changed = generate(directory)
    for name in changed:
        print(f"wrote {directory / name}")
    if not changed:
        print(f"{directory}: up to date")
    return 0


def _check(args: argparse.Namespace) -> int:
    from derive.files import check, default_directory

    directory = args.dir or default_directory()
    problems = check(directory)
    for problem in problems:
        print(f"{directory / problem.name}: {problem.reason}", file=sys.stderr)
        if problem.diff:
            print(problem.diff, file=sys.stderr)
    if problems:
        print("run `klgen generate` to bring it up to date", file=sys.stderr)
        return 1
    print(f"{directory}: up to date")
    return 0


def _list(args: argparse.Namespace) -> int:
    from derive.codegen import kernel_modules
    from derive.derivations import ALL
    from derive.specs import SPECS

    print("derivations (klgen latex NAME):")
    for name, derivation in ALL.items():
        print(f"    {name}: {derivation.title}")
    print("generated modules (klgen generate), in generated/:")
    compiled = {spec.name for spec in SPECS}
    for module in kernel_modules():
        twin = f" (compiled twin: {module.name}_numba)" if module.name in compiled else ""
        print(f"    {module.name}: {module.computes}{twin}")
        for function in module.functions:
            print(f"        {function}")
    return 0
