"""The shipped kernels' derivation steps kept between runs (derive/stepcache.py)."""

import pytest

from klgen.derive import kernel, rowderivation, stepcache
from klgen.derive.kernel import derivation_of
from klgen.derive.package import shipped_kernels

KEPT = ("kl_poisson", "kl_categorical")  # an elementwise spec kernel and a row kernel


def _shipped(name):
    return next(k for k in shipped_kernels() if k.name == name)


def _fields(derivation):
    return [(s.expr, s.why, s.lhs, s.lhs_text, s.names) for s in derivation.steps]


def _refuse_to_make(monkeypatch):
    def refuse(_):
        raise AssertionError("made again instead of loaded")

    monkeypatch.setattr(kernel, "_shown_steps", refuse)
    monkeypatch.setattr(rowderivation, "_shown_steps", refuse)


@pytest.mark.parametrize("name", KEPT)
def test_kept_steps_are_the_steps_made(monkeypatch, tmp_path, name):
    """A second run loads what the first made: the same expressions, reasons and names, and
    the same extra check indices."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    made = derivation_of(_shipped(name), keep=True)
    assert len(list((tmp_path / "klgen" / "steps").glob(f"{name}-*.pickle"))) == 1
    _refuse_to_make(monkeypatch)
    loaded = derivation_of(_shipped(name), keep=True)
    assert _fields(loaded) == _fields(made)
    assert [e.step for e in loaded.extras] == [e.step for e in made.extras]


def test_a_damaged_file_is_made_again(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    made = derivation_of(_shipped("kl_poisson"), keep=True)
    (path,) = (tmp_path / "klgen" / "steps").glob("kl_poisson-*.pickle")
    path.write_bytes(b"\x80\x05 not a pickle")
    again = derivation_of(_shipped("kl_poisson"), keep=True)
    assert _fields(again) == _fields(made)
    assert path.read_bytes() != b"\x80\x05 not a pickle"


def test_a_users_kernel_is_never_kept(monkeypatch, tmp_path):
    """Without keep (a spec file's kernels: what it imports is unknown), nothing is written
    and nothing is read."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    derivation_of(_shipped("kl_poisson"))
    assert not (tmp_path / "klgen" / "steps").exists()


def test_an_unwritable_cache_folder_only_costs_time(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert stepcache.made("x", lambda: ("steps", 1), keep=True) == ("steps", 1)
