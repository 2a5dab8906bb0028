"""derive/pagecache.py: ``klgen latex`` pages of klgen's own derivations kept between runs,
keyed by the code that makes them and the options that shape them."""

import pytest

import klgen
from klgen.derive import diskcache, show
from klgen.derive.cli import main


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of this test's own, and no digest remembered from another test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    diskcache.code_digest.cache_clear()
    yield tmp_path / "xdg" / "klgen" / "pages"
    diskcache.code_digest.cache_clear()


def _latex(capsys, *argv):
    code = main(["latex", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _made(monkeypatch):
    """Count the pages made (not taken from the cache) from here on."""
    made = []
    real = show.page

    def counting(*args, **kwargs):
        made.append(args[0].name)
        return real(*args, **kwargs)

    monkeypatch.setattr(show, "page", counting)
    return made


def test_a_page_is_kept_and_shown_again_without_being_made(cache, capsys, monkeypatch):
    made = _made(monkeypatch)
    first = _latex(capsys, "std_normal", "--width", 80)
    assert first[0] == 0 and "passed" in first[1]
    assert made == ["std_normal"] and len(list(cache.iterdir())) == 1
    assert _latex(capsys, "std_normal", "--width", 80) == first
    assert made == ["std_normal"]  # the second page came from the cache


@pytest.mark.parametrize(
    "other",
    [
        ["--width", 100],
        ["--format", "md"],
        ["--no-check"],
        pytest.param(["--all", "--no-check"], marks=pytest.mark.slow),  # 6 s
    ],
)
def test_other_options_make_another_page(cache, capsys, monkeypatch, other):
    _latex(capsys, "std_normal", "--width", 80)
    made = _made(monkeypatch)
    argv = other if "--all" in other else ["std_normal", "--width", 80, *other]
    code, out, _ = _latex(capsys, *argv)
    assert code == 0 and out
    assert len(made) == 1 and len(list(cache.iterdir())) == 2


def test_recheck_makes_the_page_again(cache, capsys, monkeypatch):
    first = _latex(capsys, "std_normal", "--width", 80)
    made = _made(monkeypatch)
    assert _latex(capsys, "std_normal", "--width", 80, "--recheck") == first
    assert made == ["std_normal"]


def test_a_change_to_klgens_code_makes_the_page_again(cache, capsys, monkeypatch):
    _latex(capsys, "std_normal", "--width", 80)
    made = _made(monkeypatch)
    diskcache.code_digest.cache_clear()
    monkeypatch.setattr(diskcache, "LIBRARIES", (*diskcache.LIBRARIES, "pytest"))
    _latex(capsys, "std_normal", "--width", 80)
    assert made == ["std_normal"]


def test_the_digest_covers_every_source_file(tmp_path, monkeypatch):
    """Editing, adding or renaming a .py or .jinja file of a covered folder changes it."""
    package = tmp_path / "klgen"
    (package / "derive").mkdir(parents=True)
    (package / "derive" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(klgen, "__file__", str(package / "__init__.py"))
    digests = {diskcache.source_digest(("derive",), ())}
    (package / "derive" / "a.py").write_text("x = 2\n")
    digests.add(diskcache.source_digest(("derive",), ()))
    (package / "derive" / "page.jinja").write_text("{{ x }}\n")
    digests.add(diskcache.source_digest(("derive",), ()))
    (package / "derive" / "page.jinja").rename(package / "derive" / "other.jinja")
    digests.add(diskcache.source_digest(("derive",), ()))
    (package / "derive" / "notes.txt").write_text("not code\n")
    digests.add(diskcache.source_digest(("derive",), ()))
    assert len(digests) == 4
    assert diskcache.source_digest(("derive",), ("no-such-library",)) not in digests


def test_a_failed_check_is_never_kept(cache, capsys, monkeypatch):
    real = show.page

    def failing(*args, **kwargs):
        document, _ = real(*args, **kwargs)
        return document, 1

    monkeypatch.setattr(show, "page", failing)
    assert _latex(capsys, "std_normal")[0] == 1
    assert not cache.exists() or not list(cache.iterdir())


def test_a_spec_files_derivations_are_never_kept(cache, capsys, tmp_path):
    spec = tmp_path / "spec.py"
    spec.write_text(
        "import sympy as sp\nimport klgen\nx = sp.Symbol('x', real=True)\n"
        "KERNELS = (klgen.Kernel(name='square', args=(x,), term=x**2, computes='x squared',\n"
        "    derivation=klgen.Derivation(title='Square', steps=((x * x, 'given'),))),)\n"
    )
    assert _latex(capsys, "square", "--spec", spec)[0] == 0
    assert not cache.exists() or not list(cache.iterdir())


def test_an_unwritable_cache_only_makes_pages_every_time(tmp_path, capsys, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    diskcache.code_digest.cache_clear()
    made = _made(monkeypatch)
    first = _latex(capsys, "std_normal", "--width", 80)
    assert first[0] == 0 and _latex(capsys, "std_normal", "--width", 80) == first
    assert made == ["std_normal", "std_normal"]


def test_a_kept_page_goes_to_out_like_a_made_one(cache, capsys, tmp_path):
    made = tmp_path / "made.md"
    kept = tmp_path / "kept.md"
    _latex(capsys, "std_normal", "--format", "md", "--out", made)
    _latex(capsys, "std_normal", "--format", "md", "--out", kept)
    assert kept.read_text() == made.read_text() and "$$" in made.read_text()
