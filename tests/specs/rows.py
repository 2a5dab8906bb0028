"""Kernels of row statistics (klgen.Statistic) as a user writes them: the log-sum-exp of a
row, its gradients by klgen's reverse mode over the statistics (tests/test_rowstats.py)."""

import sympy as sp

import klgen

x = sp.Symbol("x", real=True)
m, s = sp.symbols("m s", real=True)

KERNELS = (
    klgen.Kernel(
        name="row_logsumexp",
        args=(x,),
        statistics=(klgen.Statistic(m, x, "max"), klgen.Statistic(s, sp.exp(x - m))),
        term=m + sp.log(s),
        computes="log sum_j e^x_j, one value per row",
        derivation=klgen.Derivation(
            title="The log-sum-exp of a row",
            steps=((sp.log(klgen.row_sum(sp.exp(x))), "the definition"),),
        ),
    ),
)
