"""``klgen latex`` (derive/show.py): argument handling, each format, statuses (--out: test_cli)."""

import argparse
import contextlib
import dataclasses
import io
import os
import re
import shutil
import subprocess

import pytest
import sympy as sp

from klgen.derive import cli, show
from klgen.derive.derivations import ALL
from klgen.derive.package import every_derivation


def _run(*argv):
    parser = argparse.ArgumentParser(prog="klgen latex")
    cli.latex_arguments(parser)
    return show.run(parser.parse_args(list(argv)))


def test_unknown_name_exits_2_listing_the_valid_names(capsys):
    assert _run("nope") == 2
    err = capsys.readouterr().err
    assert "unknown derivation 'nope'" in err
    assert all(name in err for name in ALL)


@pytest.mark.parametrize("argv", [(), ("std_normal", "--all")])
def test_needs_exactly_one_of_name_and_all(capsys, argv):
    assert _run(*argv) == 2
    assert "give one NAME or --all" in capsys.readouterr().err


def test_unknown_format_is_rejected_by_argparse():
    with pytest.raises(SystemExit):
        _run("std_normal", "--format", "pdf")


def test_text_shows_each_step_its_justification_and_check(capsys):
    assert _run("std_normal") == 0
    out = capsys.readouterr().out
    flowing = " ".join(out.split())  # the prose is wrapped at the width
    derivation = ALL["std_normal"]
    for index, st in enumerate(derivation.steps):
        assert f"({index}) {' '.join(st.why.split())} [passed]" in flowing
    assert "KL(q || N(0, I)) =" in out
    assert "logvar[j]" in out and "\\" not in out  # unicode art, not LaTeX source


def test_text_fits_80_columns_broken_between_terms_not_cut(capsys):
    """Every line of every derivation of klgen's registry, prose and 2-D art; no expression
    needs SymPy's column chopping (its ↪ marks): wide sums break between terms, tuples
    between components, products around their factors (the shipped kernels': below)."""
    assert _run("--all", "--no-check", "--width", "80") == 0
    out = capsys.readouterr().out
    widths = [len(line) for line in out.splitlines()]
    assert 70 < max(widths) <= 80  # the room is used, not wasted
    assert "↪" not in out
    assert "\n    + " in out  # a continuation line of a sum


@pytest.mark.slow
def test_text_of_the_shipped_kernels_fits_80_columns():
    """The shipped kernels' derivations (spec files, built as `klgen latex` builds them) at
    80 columns. Their nesting is deeper (kl_laplace's compensated exponents): where a
    function's arguments still do not fit, SymPy's ↪ chopping keeps the line in the width."""
    from klgen.derive.package import every_derivation

    args = argparse.Namespace(
        name=None, all=True, format="text", width=80, no_check=True, recheck=False
    )
    document, status = show.page(args, every_derivation())
    assert status == 0
    lines = document.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "kl_categorical" in document and "│" in document  # shipped, Abs broken inside


@pytest.mark.slow
@pytest.mark.parametrize("width", [40, 60, 120])
def test_text_fits_any_width_asked_for(capsys, width):
    assert _run("--all", "--no-check", "--width", str(width)) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= width


def test_text_width_defaults_to_the_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # what shutil.get_terminal_size reads first
    assert _run("mvn_cholesky", "--no-check") == 0
    widths = [len(line) for line in capsys.readouterr().out.splitlines()]
    assert 80 < max(widths) <= 100


@pytest.mark.parametrize("width", ["10", "wide"])
def test_a_bad_width_is_refused_by_argparse(capsys, width):
    with pytest.raises(SystemExit):
        _run("std_normal", "--width", width)
    assert "--width" in capsys.readouterr().err


def test_ones_vectors_keep_their_shape_and_transpose(capsys):
    """b_mu's gradient is 1_B^T mu (a row of B ones times mu): one bold 1 does not stand for
    the B x 1, 1 x B and B x k ones alike, in the text nor in the LaTeX."""
    assert _run("encoder_backprop", "--no-check", "--width", "100") == 0
    text = capsys.readouterr().out
    assert "⟨𝟏_Bᵀ⋅μ, dbₘᵤ⟩_F" in text and "𝟏_B⋅dbₘᵤ" in text and "𝟏_(B×k)" in text
    assert _run("encoder_backprop", "--no-check", "--format", "tex") == 0
    tex = capsys.readouterr().out
    assert r"\mathbf{1}_{B}^{T} \mu" in tex and r"\mathbf{1}_{B \times k}" in tex
    assert r"1 \times B" not in tex


def test_tex_is_a_complete_document(capsys):
    assert _run("gaussian_kl", "--format", "tex", "--no-check") == 0
    out = capsys.readouterr().out
    assert out.startswith("\\documentclass")
    assert out.rstrip().endswith("\\end{document}")
    assert out.count("\\begin{dmath*}") == len(ALL["gaussian_kl"].steps)
    assert "\\verb" not in out  # justifications are wrapped text


def test_tex_text_escapes_every_special_character():
    assert show.tex_text("a_b ^ {x} $1 & #2 % ~ < > || \\") == (
        "a\\_b \\textasciicircum{} \\{x\\} \\$1 \\& \\#2 \\% \\textasciitilde{} \\textless{} "
        "\\textgreater{} \\textbar{}\\textbar{} \\textbackslash{}"
    )


def _compile(engine: str, document: str, folder) -> list[float]:
    """Compile ``document`` with ``engine`` (pdflatex, lualatex) in ``folder``; the widths
    in pt of its overfull boxes. Fails the test, with the log's error, if it does not compile."""
    if shutil.which(engine) is None:
        packages = "texlive-latex-base, texlive-latex-recommended, texlive-luatex"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {engine} is not installed: .ci/run must install {packages}")
        pytest.skip(f"{engine} is not installed here (apt-get install {packages}); CI runs this")
    (folder / "doc.tex").write_text(document, encoding="utf-8")
    done = subprocess.run(
        [engine, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (folder / "doc.log").read_text(encoding="utf-8", errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert done.returncode == 0 and (folder / "doc.pdf").exists(), errors or done.stdout[-2000:]
    return [float(w) for w in re.findall(r"Overfull \\[hv]box \(([\d.]+)pt too", log)]


def _tex(*argv, derivations=None) -> str:
    parser = argparse.ArgumentParser(prog="klgen latex")
    cli.latex_arguments(parser)
    args = parser.parse_args([*argv, "--format", "tex"])
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        show.run(args, derivations)
    return buffer.getvalue()


EVERY = every_derivation()  # klgen's and the shipped kernels', each made when first shown


@pytest.mark.parametrize("engine", ["pdflatex", pytest.param("lualatex", marks=pytest.mark.slow)])
def test_tex_of_every_derivation_compiles_without_overfull_boxes(tmp_path, engine):
    """--all, klgen's own and the shipped spec kernels' derivations: the justifications wrap
    and breqn breaks the long equations (inside products too), so nothing runs off the page."""
    document = _tex("--all", "--no-check", derivations=EVERY)
    assert [w for w in _compile(engine, document, tmp_path) if w > 1] == []


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pdflatex", "lualatex"])
@pytest.mark.parametrize("name", list(EVERY))
def test_tex_of_each_derivation_compiles_checked(tmp_path, engine, name):
    document = _tex(name, derivations=EVERY)
    assert "(passed)" in document
    assert [w for w in _compile(engine, document, tmp_path) if w > 1] == []


def test_markdown_has_one_display_block_per_step(capsys):
    assert _run("--all", "--format", "md", "--no-check") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines.count("$$") == 2 * sum(len(d.steps) for d in ALL.values())
    assert "(not checked)" in out


def test_html_is_self_contained_with_mathml_per_step(capsys):
    """The matrix notation of the encoder derivation, unchecked (its checks take 6 s and are
    test_derivations' job; test_a_failing_step_is_shown_and_exits_1 shows a checked page)."""
    assert _run("encoder_backprop", "--format", "html", "--no-check") == 0
    page = capsys.readouterr().out
    steps = ALL["encoder_backprop"].steps
    assert page.count('<math xmlns="http://www.w3.org/1998/Math/MathML"') == len(steps)
    assert page.count('data-status="not checked"') == len(steps)
    assert "<merror" not in page
    for forbidden in ("<script", "<link", "src=", "@import", "url(", "@font-face"):
        assert forbidden not in page
    # The only URL is the MathML namespace, which is never fetched.
    assert set(re.findall(r"https?://[^\"' <]+", page)) == {"http://www.w3.org/1998/Math/MathML"}


def test_a_failing_step_is_shown_and_exits_1(capsys, monkeypatch):
    derivation = ALL["std_normal"]
    steps = list(derivation.steps)
    steps[1] = dataclasses.replace(steps[1], expr=steps[1].expr + sp.S.One)
    monkeypatch.setitem(ALL, "std_normal", dataclasses.replace(derivation, steps=steps))
    assert _run("std_normal", "--format", "html") == 1
    page = capsys.readouterr().out
    assert page.count('data-status="failed"') == 1
    assert "check failed: k=1, symbolic entries" in page


def test_node_and_helper_functions_print_under_their_code_names():
    """exp_bregman is not exp with a subscript, and the kernels' evaluation nodes show the
    names of the helpers the generated code calls."""
    from klgen.derive.derivations.notation import to_latex, to_text
    from klgen.derive.functions import exp_bregman
    from klgen.derive.numerics import HalfExpm1MinusX

    a, b = sp.symbols("a b", real=True)
    assert to_latex(exp_bregman(a, b)) == r"\operatorname{exp\_bregman}\left(a, b\right)"
    assert to_latex(HalfExpm1MinusX(a, b) ** 2) == (
        r"\operatorname{half\_expm1\_minus\_x}^{2}\left(a, b\right)"
    )
    assert to_text(HalfExpm1MinusX(a, b)) == "half_expm1_minus_x(a, b)"


def test_a_spec_kernels_derivation_is_made_only_when_shown(monkeypatch):
    """klgen latex NAME makes NAME's derivation alone (each spec kernel's runs its rewrites
    and their proofs), once."""
    from klgen.derive import package

    made = []
    real = package.derivation_of
    monkeypatch.setattr(
        package, "derivation_of", lambda k, **kw: made.append(k.name) or real(k, **kw)
    )
    known = package.every_derivation()
    assert list(known)[: len(ALL)] == list(ALL) and "kl_poisson" in list(known)
    assert made == []
    assert known["kl_poisson"] is known["kl_poisson"] and made == ["kl_poisson"]
    with pytest.raises(KeyError):
        known["nope"]
