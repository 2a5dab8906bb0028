"""The divergences and likelihoods klgen ships, each a spec file of the kind a user writes
(``KERNELS``, a sequence of ``klgen.Kernel``): derived from the densities in checked steps
(``klgen latex NAME``), generated into ``klgen.generated`` by ``klgen generate`` like the
built-in families (derive/package.py reads every module of this folder).

Arguments are the unconstrained values an encoder outputs (logits, log-rates,
log-variances); the last axis is summed.
"""
