"""Every registered derivation's step results, computed once per test session (about 20 s):
the checks test_derivations asserts and the checked page test_browser renders."""

import functools

from klgen.derive.derivations import ALL, results


@functools.cache
def _results_of(name: str) -> tuple:
    return tuple(results(ALL[name]))


def checked_steps(derivation):
    """``results(derivation)``, from the session's cache for a registered derivation (a
    modified copy, as the broken-step tests make, is checked afresh)."""
    if ALL.get(derivation.name) is not derivation:
        return results(derivation)
    return iter(_results_of(derivation.name))
