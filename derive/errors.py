"""The error a spec that klgen cannot use raises (derive/kernel.py, derive/rowstats.py),
in a module of its own so that both can raise it without importing each other."""


class SpecError(ValueError):
    """A spec (file or Kernel) that klgen cannot use; the message names the kernel."""
