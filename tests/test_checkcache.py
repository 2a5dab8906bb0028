"""derive/checkcache.py: check results kept between runs, keyed by the derivation's content."""

import dataclasses
import io
import json

import sympy as sp

from klgen.derive import checkcache
from klgen.derive.derivations import ALL


class _Recorder:
    """A progress callback that remembers which steps were checked."""

    def __init__(self):
        self.calls = []

    def __call__(self, derivation, index):
        self.calls.append((derivation.name, index))


def _check(derivation, recheck=False):
    recorder = _Recorder()
    outcomes = checkcache.checked(derivation, recheck, recorder)
    return [(o.checked, o.failures) for o in outcomes], recorder.calls


def test_results_are_reused_until_the_derivation_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    derivation = ALL["std_normal"]
    first, calls = _check(derivation)
    assert calls == [("std_normal", 0), ("std_normal", 1)]  # checked, step by step
    assert first == [(True, ()), (True, ())]
    again, calls = _check(derivation)
    assert (again, calls) == (first, [])  # from the cache: no step checked
    assert len(list((tmp_path / "klgen" / "checks").iterdir())) == 1

    steps = list(derivation.steps)
    steps[1] = dataclasses.replace(steps[1], expr=steps[1].expr + sp.S.One)
    changed, calls = _check(dataclasses.replace(derivation, steps=steps))
    assert len(calls) == 2  # a changed step: checked again, and its failure found
    assert changed[0] == (True, ()) and changed[1][1]


def test_recheck_checks_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _check(ALL["std_normal"])
    _, calls = _check(ALL["std_normal"], recheck=True)
    assert len(calls) == 2


def test_the_key_does_not_depend_on_how_many_dummies_the_process_made():
    """SymPy numbers its Dummy symbols (encoder_backprop's entrywise exp holds one) per
    process, in order of creation; the key numbers them itself."""
    assert "dummy_index" in sp.srepr(ALL["encoder_backprop"].steps[0].expr)
    first = sp.Dummy("x")
    sp.Dummy(), sp.Dummy()
    second = sp.Dummy("x")
    same = [sp.Lambda(d, sp.exp(d)) for d in (first, second)]
    assert sp.srepr(same[0]) != sp.srepr(same[1])
    assert checkcache._stable_srepr(same[0]) == checkcache._stable_srepr(same[1])
    assert len({checkcache.key(d) for d in ALL.values()}) == len(ALL)


def test_an_unwritable_cache_only_means_checking_again(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    for _ in range(2):
        outcomes, calls = _check(ALL["std_normal"])
        assert outcomes == [(True, ()), (True, ())] and len(calls) == 2


def test_a_damaged_cache_file_is_checked_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    derivation = ALL["std_normal"]
    _check(derivation)
    (stored,) = (tmp_path / "klgen" / "checks").iterdir()
    for damage in ("{not json", json.dumps([{"checked": True}]), json.dumps([])):
        stored.write_text(damage)
        outcomes, calls = _check(derivation)
        assert outcomes == [(True, ()), (True, ())] and len(calls) == 2


def test_the_directory_follows_xdg_cache_home_else_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert checkcache.directory() == tmp_path / "xdg" / "klgen" / "checks"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert checkcache.directory() == tmp_path / "home" / ".cache" / "klgen" / "checks"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_one_line_rewritten_on_a_terminal_and_cleared():
    stream = _Terminal()
    progress = checkcache.Progress(stream)
    progress(ALL["mvn_cholesky"], 0)
    progress(ALL["mvn_cholesky"], 8)
    progress.done()
    written = stream.getvalue()
    assert "\n" not in written
    assert "checking mvn_cholesky, step 1 of 9..." in written
    assert "checking mvn_cholesky, step 9 of 9..." in written
    assert written.endswith("\r")  # the line is blanked and the cursor back at its start


def test_progress_says_nothing_when_not_on_a_terminal():
    stream = io.StringIO()
    progress = checkcache.Progress(stream)
    progress(ALL["std_normal"], 0)
    progress.done()
    assert stream.getvalue() == ""
