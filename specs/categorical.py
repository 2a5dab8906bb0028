"""Categorical distributions in logits: KL(Categorical(softmax(logits)) ||
Categorical(softmax(logits_p))) over the last axis, the categories, which the divergence
reduces itself: a kernel of row statistics (klgen.Statistic)."""

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

import klgen
from klgen.derive.functions import (
    difference_of_differences,
    difference_of_differences_error,
    difference_sum,
    exp_gap,
    exp_of_difference,
    exp_of_difference_error,
)

logits, logits_p = sp.symbols("logits logits_p", real=True)
# The row statistics: each logit vector's maximum and sum of shifted exponentials (its
# softmax is e^(logits - m) / s), the mean under p of d = log p/q + log s - log s_p in two
# parts (mean_d, then what its rounding left, s mean_d_rest = rest + rest_error), and the sum
# of gaps whose log1p is the KL.
m, s, m_p, s_p, mean_d, rest, rest_error, gaps = sp.symbols(
    "m s m_p s_p mean_d rest rest_error gaps", real=True
)
row = klgen.row_sum

# Differences summed in the order written (difference_sum(a, b, c, e) = (b - a) + (c - e)),
# each exact where its terms are close (SymPy would flatten them into an order of its own).
# d = log p/q + log s - log s_p = (logits - m) - (logits_p - m_p), the roundings of both
# differences added back: accurate however close they are (q = p shifted by a constant gives
# a d that is only the rounding residue of the shift).
d = difference_of_differences(logits, m, logits_p, m_p, 0)
# d less its rough mean, every rounding added back: near q = p, d_j and its mean both hold
# log s - log s_p (first order in q - p, as d_j - mean is), so the mean's rounding, eps of
# that, would be all of a small d_j - mean; mean_d_rest, the mean of these, is what the
# rounding left, and d_j - (mean_d + mean_d_rest) = centred - mean_d_rest has no such
# cancellation (dlogits 179 -> 13 ulps over the sampled rows).
centred = difference_of_differences(logits, m, logits_p, m_p, mean_d)
# mean_d_rest is a sum of first-order terms p_k centred_k that cancel to far below their
# sizes, while one d_j - mean can be hundreds of times smaller than the others: an ulp of
# each term (p_k's rounding from exp, centred_k's own, each addition's) moved it by tens of
# ulps of that one (dlogits 58 ulps). So s p_k centred_k = centred_k e^(logits_k - m) is
# summed in twice the precision (rest, compensated), and the terms' rounding errors apart
# (rest_error: e^(logits - m) in twice the precision and centred's error carried through);
# s divides the sum, once.
centred_error = difference_of_differences_error(logits, m, logits_p, m_p, mean_d)
mean_d_rest = (rest + rest_error) / s
# The shifted exponentials e^(logits - m) with the rounding of logits - m added back
# (exp_of_difference): softmax weights to an ulp where logits - m = -34.66 rounded costs 17.
p = exp_of_difference(1 / s, logits, m)
q = exp_of_difference(1 / s_p, logits_p, m_p)


def weighted(x):
    """p x as exp_of_difference(x / s, logits, m): each factor rounded once, and a p that
    underflows beside a huge x gives their product."""
    return exp_of_difference(x / s, logits, m)


STATISTICS = (
    klgen.Statistic(m, logits, "max"),
    klgen.Statistic(s, exp_of_difference(1, logits, m)),
    klgen.Statistic(m_p, logits_p, "max"),
    klgen.Statistic(s_p, exp_of_difference(1, logits_p, m_p)),
    klgen.Statistic(mean_d, weighted(d)),
    klgen.Statistic(rest, exp_of_difference(centred, logits, m), compensated=True),
    klgen.Statistic(rest_error, exp_of_difference_error(centred, centred_error, logits, m)),
    # p_j (e^t - 1 - t) with t = mean - d_j = mean_d_rest - centred_j: s p_j = e^(logits_j
    # - m), and logits_j - m + t = (logits_p_j - m_p) + mean (exp_gap's last three
    # arguments, with no logits_j in them: -1e4 and 1e4 + 0.5 added would round).
    klgen.Statistic(
        gaps,
        exp_gap(logits, m, mean_d_rest - centred, logits_p, m_p, mean_d + mean_d_rest) / s,
    ),
)
# Beyond this sum of gaps (a KL above 690) its terms would overflow: the textbook form there,
# sum_j p_j log p_j/q_j = mean - log s + log s_p, whose mean is its one large term.
LARGE = sp.Float(1e300)
SMALL_KL = log1p(gaps)
# A mean_d of +inf (logits_p -inf where logits is not: q gives 0 where p does not) is the KL.
KL = sp.Piecewise(
    (mean_d, mean_d > sp.Float(1.7976931348623157e308)),
    (SMALL_KL, gaps <= LARGE),
    (mean_d + mean_d_rest - sp.log(s) + sp.log(s_p), True),
)
# log q/p = (mean_d_rest - centred) + (0 - KL) where those are small (q close to p: exactly
# 0 at q = p), else (0 - d) + (log s - log s_p) (at most log K each).
LOG_RATIO = sp.Piecewise(
    (
        difference_sum(centred, mean_d_rest, 0, SMALL_KL),
        sp.Abs(mean_d) + SMALL_KL <= sp.log(s * s_p),
    ),
    (difference_sum(d, 0, sp.log(s), sp.log(s_p)), True),
)
# dKL/dlogits = p (d - mean) = p (centred - mean_d_rest); dKL/dlogits_p = q - p, as p
# expm1(log q/p) while q <= 2p (no cancellation near q = p), as q - p beyond (no
# cancellation either; q where p underflows to 0).
GRADIENTS = (
    weighted(centred - mean_d_rest),
    sp.Piecewise(
        (weighted(expm1(LOG_RATIO)), (gaps <= LARGE) & (q <= 2 * p) & (p > 0)),
        (q - p, True),
    ),
)


def softmax(x):
    """softmax(x)_j, written over the row (the derivation's notation)."""
    return sp.exp(x) / row(sp.exp(x))


def gap(x):
    return sp.exp(x) - 1 - x


delta = logits - logits_p  # the derivation's d: the kernel's d less m - m_p
d_bar = row(softmax(logits) * delta)

KERNELS = (
    klgen.Kernel(
        name="kl_categorical",
        args=(logits, logits_p),
        statistics=STATISTICS,
        term=KL,
        gradient_forms=GRADIENTS,
        computes="KL(Categorical(softmax(logits)) || Categorical(softmax(logits_p))) over "
        "the last axis (the categories), one value per row",
        derivation=klgen.Derivation(
            title="The KL divergence of two categorical distributions, in logits",
            steps=(
                (
                    row(softmax(logits) * sp.log(softmax(logits) / softmax(logits_p))),
                    "the definition, E_P[log P(j)/Q(j)], with P(j) = softmax(logits)_j and "
                    "Q(j) = softmax(logits_p)_j",
                ),
                (
                    d_bar - sp.log(row(sp.exp(logits))) + sp.log(row(sp.exp(logits_p))),
                    "log P(j)/Q(j) = d_j - log sum e^logits + log sum e^logits_p, d = "
                    "logits - logits_p, and the softmax sums to 1",
                ),
                (
                    sp.log(row(softmax(logits) * sp.exp(d_bar - delta))),
                    "the logarithms of the sums as one: sum e^logits_p / sum e^logits = "
                    "sum_j P(j) e^-d_j",
                ),
                (
                    log1p(row(softmax(logits) * gap(d_bar - delta))),
                    "e^t = 1 + t + (e^t - 1 - t) with t = d_bar - d_j, whose first two "
                    "terms sum to 1 under P: every term left is >= 0 (no cancellation), "
                    "and q = p gives exactly 0",
                ),
            ),
        ),
    ),
)
