"""klgen.derivation(NAME) in a notebook (derive/notebook.py): its Jupyter reprs, and a real
notebook executed with nbclient on a local IPython kernel (no network)."""

import nbformat
import pytest
from nbclient import NotebookClient

import klgen
from klgen.derive.derivations import ALL


@pytest.fixture(scope="module")
def std_normal():
    return klgen.derivation("std_normal")


def test_html_shows_each_step_checked_as_mathml_without_a_page(std_normal):
    html = std_normal._repr_html_()
    steps = len(ALL["std_normal"].steps)
    assert html.lstrip().startswith('<div class="klgen">')  # a fragment, not a document
    assert "<html" not in html and "<body" not in html and "<script" not in html
    assert html.count('data-status="passed"') == steps
    assert html.count("&#10003; check passed") == steps
    assert html.count("<math") == steps and "<merror" not in html
    assert "div.klgen li.step" in html  # its styles are scoped to the output cell
    for st in ALL["std_normal"].steps:
        assert st.why.replace("&", "&amp;") in html


def test_latex_and_markdown_hold_each_step_in_display_math(std_normal):
    steps = ALL["std_normal"].steps
    for text in (std_normal._repr_latex_(), std_normal._repr_markdown_()):
        assert text.count("$$") == 2 * len(steps)
        assert text.count("(passed") == len(steps)
        assert all(st.latex in text for st in steps)
    assert "\\documentclass" not in std_normal._repr_latex_()


def test_repr_print_and_passed(std_normal):
    assert repr(std_normal) == "<klgen derivation 'std_normal': 2 steps (2 passed)>"
    assert str(std_normal).startswith("Diagonal Gaussian against the standard normal prior")
    assert std_normal.passed


def test_unchecked_and_unknown():
    unchecked = klgen.derivation("gaussian_kl", check=False)
    assert not unchecked.passed
    assert repr(unchecked) == "<klgen derivation 'gaussian_kl': 5 steps (5 not checked)>"
    with pytest.raises(KeyError, match="unknown derivation 'nope'; valid names: gaussian_kl"):
        klgen.derivation("nope")


def test_a_spec_files_derivation(tmp_path):
    spec = tmp_path / "spec.py"
    spec.write_text(
        "import sympy as sp\n"
        "import klgen\n"
        "x = sp.Symbol('x', real=True)\n"
        "KERNELS = [klgen.Kernel('half_square', args=(x,), term=x**2 / 2, computes='x^2/2',\n"
        "    derivation=klgen.Derivation('Half a square', [(x * x / 2, 'x x = x^2')]))]\n"
    )
    shown = klgen.derivation("half_square", spec=spec)
    assert shown.passed and [s.status for s in shown.steps] == ["definition", "passed", "passed"]
    assert shown.steps[-1].lhs_text == "(l, dl/dx)"  # the term and its gradient


@pytest.mark.slow
def test_a_notebook_runs_and_shows_the_derivation(tmp_path):
    """What a reader does: a notebook cell ending in klgen.derivation(...), run by nbclient on
    the python3 kernel of this interpreter (ipykernel); its output holds every rendering."""
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import klgen\nshown = klgen.derivation('std_normal')\nshown"
            ),
            nbformat.v4.new_code_cell("print(shown.passed)"),
        ]
    )
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    (shown,) = notebook.cells[0].outputs
    assert shown.output_type == "execute_result"
    assert {"text/html", "text/latex", "text/markdown", "text/plain"} <= set(shown.data)
    assert shown.data["text/html"].count("&#10003; check passed") == 2
    assert shown.data["text/plain"] == "<klgen derivation 'std_normal': 2 steps (2 passed)>"
    (printed,) = notebook.cells[1].outputs
    assert printed.text == "True\n"
