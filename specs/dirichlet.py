"""Dirichlet distributions in log-concentrations: KL(Dir(e^log_alpha) || Dir(e^log_alpha_p))
over the last axis, the components, which the divergence reduces itself (one value per row):
a kernel of row statistics (klgen.Statistic), the density Gamma(a0) prod_j z_j^(a_j - 1) /
prod_j Gamma(a_j) on the simplex, a0 = sum_j a_j."""

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

import klgen
from klgen.derive.functions import (
    difference_of_differences,
    difference_sum,
    exp_bregman,
    exp_bregman_split,
    exp_difference,
    exp_difference_ratio,
    exp_difference_split,
    exp_of_difference,
    exp_product,
    product_error,
    stirling_bregman,
    stirling_bregman_pair,
    stirling_curvature,
    stirling_curvature_at,
    stirling_gap_difference,
    stirling_slope_difference,
    stirling_slope_difference_pair,
)

log_alpha, log_alpha_p = sp.symbols("log_alpha log_alpha_p", real=True)
g = sp.Symbol("g", positive=True)
row = klgen.row_sum
a, b = sp.exp(log_alpha), sp.exp(log_alpha_p)
a0, b0 = row(a), row(b)

# The row statistics: the sums of the concentrations, A and B, and B - A; the gaps of f =
# lgamma - x log x + x to its tangents at each a_j (stirling_bregman, never negative), less
# that at A (F_sum less F(A, B)); and the Bernoulli-like part, sum_j b_j E(t_j) with E(t) =
# e^t - 1 - t >= 0 and t_j = (log a_j - log A) - (log b_j - log B) = log Q_j/P_j (P = b/B,
# Q = a/A): B KL(Cat(P) || Cat(Q)), t_j summed as (log_alpha_j - log_alpha_p_j) + log(B/A)
# with the roundings added back.
A, B, F_sum, H_sum = sp.symbols("A B F_sum H_sum", real=True)
R_rest = sp.Symbol("R_rest", real=True)
m, n_top, rest, rest_p, n_gap = sp.symbols("m n_top rest rest_p n_gap", real=True)
rest_change = sp.Symbol("rest_change", real=True)
d_max, shifted, shift_step = sp.symbols("d_max shifted shift_step", real=True)
size = sp.Symbol("size", real=True)
TINY = sp.Float(2.0**-60)  # below it, B - A is carried as R = (B - A)/A (below)
# B - A = sum_j a_j expm1(d_j), d_j = log_alpha_p_j - log_alpha_j, from two compensated sums:
# where |d_j| <= 1, of a_j d_j (first order, rounded: B_first) and of its rounding (product_error,
# e^x in twice the precision) plus a_j E(d_j) (second order), else of b_j - a_j (B_second).
# Where the components' moves cancel to first order (+1e-7 and -1e-7 on two equal ones), B - A
# is of second order while each a_j expm1(d_j) is rounded at eps of first order: 2.6e6 ulps of
# dlog_alpha_p of the unmoved components, whose psi(B) - psi(A) is made of it. R = (B - A)/A
# likewise below TINY, its sums and A scaled by 2^600 (exact) where a_j d_j would be subnormal.
B_first, B_second, R_first, R_second = sp.symbols("B_first B_second R_first R_second", real=True)
# 2^600 A (never a 2^-600 factor, whose products underflow), 2^540 a term where a_j > TINY
# (those rows' R is not used; a 0 would divide).
A_scaled = sp.Symbol("A_scaled", real=True)
B_less_A = B_first + B_second
SCALE = sp.Float(2.0**600)
R = (R_first + R_second) / A_scaled
# log(B/A) from B - A where the ratio is near 1, else from the ratio (each rounded once: the
# logarithms' difference would carry |log A| eps, up to 700 eps), its logarithms' difference
# where the ratio overflows.
LOG_RATIO = sp.Piecewise(
    (log1p(R), (A < TINY) & (B < TINY) & (sp.Abs(R) <= sp.S.Half)),
    (log1p(B_less_A / A), sp.Abs(B_less_A) <= A / 2),
    (sp.log(B / A), sp.Abs(sp.log(B) - sp.log(A)) < 700),
    (sp.log(B) - sp.log(A), True),
)
# Where one component k holds at least half of both rows' concentrations (a_k >= A/2, b_k >=
# B/2; the one largest log_alpha: no tie), F(a_k, b_k) and F(A, B) are close and cancel (the
# rest is of the size of the other components: 1e-126 of them at a margin of 290). Exact
# algebra gives F(a_k, b_k) - F(A, B) = F(a_k, A) - F(b_k, B) - (f'(b_k) - f'(a_k)) (B -
# b_k) + (f'(A) - f'(a_k)) (B - A), terms of the size of the rest, from the rests' sums
# (rest = A - a_k and rest_p = B - b_k summed over the other components, not differences).
TOP = log_alpha >= m
DOMINANT = (n_top < sp.Rational(3, 2)) & (2 * rest <= A) & (2 * rest_p <= B)
DOMINANT_GAP = (
    stirling_bregman_pair(a, A, rest, log1p(rest / a))
    - stirling_bregman_pair(b, B, rest_p, log1p(rest_p / b))
    - stirling_slope_difference(log_alpha, log_alpha_p) * rest_p
    + stirling_slope_difference_pair(a, A, rest, log1p(rest / a)) * B_less_A
)
# There, where the rests' shares are below |log(B/A)|, t_k = log1p(rest_p / b_k) - log1p(rest
# / a_k) from the rests, not (log_alpha_k - log_alpha_p_k) + log(B/A): the rounding of
# log(B/A) is eps |log(B/A)|, far more than t_k (about the rests' shares), and b_k E(t_k)
# squares it: 1e145 for a KL of 1e51 at a_k = e^427. (Each form's t_k is accurate to eps
# times the terms it is the difference of.)
KEPT = TOP & DOMINANT
# The others' t_j = (d_j - d_max) - c, d = log_alpha - log_alpha_p and d_max its row maximum,
# c = log(sum_j b_j e^(d_j - d_max) / B) = log(shifted / B), shifted = sum_j e^(log_alpha_j -
# d_max), each difference with its roundings added back. c is taken from shifted - B, summed
# from terms of one sign (b_j expm1(d_j - d_max) <= 0), where the ratio is near 1: B E(t) would
# square the rounding of any larger quantity in t (log(B/A) rounded, eps |log(B/A)|, put 1e245
# ulps into the value where q = p scaled by e^0.5 at e^600; here that row's d_j - d_max are 0,
# so c and t are exactly 0).
# shift_step = (shifted - B)/B, summed as its terms (e^(log_alpha_j - d_max) - b_j)/B
# (exp_difference_ratio: b_j expm1(d_j - d_max) is subnormal at e^-700 and steps of 1e-9).
SHIFT_STEP = exp_difference_ratio(log_alpha_p, log_alpha, 0, d_max, B)
C = sp.Piecewise(
    (log1p(shift_step), 2 * shift_step >= -1),
    (sp.log(shifted / B), shifted >= B * sp.Float(1e-300)),
    (sp.log(shifted) - sp.log(B), True),
)
T_SHIFTED = difference_of_differences(log_alpha, log_alpha_p, d_max, 0, C)
# Or t_j = (log_alpha_j - log_alpha_p_j) + log(B/A), exact but for the rounding of log(B/A),
# or log(a_j/A) - log(b_j/B), from the shares (each rounding): of the three, the one
# whose rounded quantities are the smallest (t_j a remainder of 1e-108 beside d_max = 700 and c
# = -700 in a row with components of 1 moved between each other; beside log(B/A) = 699 where
# a_j, b_j are shares of 1/3 and 1/2, 152 ulps of dlog_alpha). The choice compares plain
# logarithms (either form is as good where they are close; Piecewise ones would not print).
SHARES = (sp.log(a / A), sp.log(b / B))
SHARES_SIZE = 3 + sp.Abs(SHARES[0]) + sp.Abs(SHARES[1])  # each share rounded, about 1.5 eps
RATIO_SIZE = sp.Abs(sp.log(B) - sp.log(A))
SHIFT_SIZE = sp.Abs(sp.log(shifted) - sp.log(B))
T = sp.Piecewise(
    (
        difference_of_differences(*SHARES, 0, 0, 0),
        (SHARES_SIZE < RATIO_SIZE) & (SHARES_SIZE < SHIFT_SIZE),
    ),
    (difference_of_differences(log_alpha, log_alpha_p, 0, 0, -LOG_RATIO), RATIO_SIZE < SHIFT_SIZE),
    (T_SHIFTED, True),
)
# The kept component's t_k from the rests carries their shares' roundings: where they are
# below both |c| (about -shift_step) and |log(B/A)| (t_k = 1.2e-6 with shares 0.05
# and log(B/A) = 6.5e-4: 28 ulps of dlog_alpha from the rests).
SHARE_SIZE = rest / a + rest_p / b
SMALL_RESTS = (SHARE_SIZE < -shift_step) & (SHARE_SIZE < RATIO_SIZE)
# The form of F(a_k, b_k) - F(A, B) from the rests has terms of their size (about f''(a_k)
# rest^2), the plain one of the size of b_k - a_k's (about f''(a_k) (b_k - a_k)^2): the rests'
# where they are the smaller.
GAP_KEPT = KEPT & (rest + rest_p < sp.Abs(exp_difference(log_alpha_p, log_alpha)))
# Where also b_k - a_k is below a_k/9 and b_k/9 (so the rests are too), the form's last two
# terms cancel, -S(a_k, b_k) rest_p + S(a_k, A) (B - A) with S(x, y) = f'(y) - f'(x): each
# of first order in b_k - a_k times the rests, their sum of second order (4e-24 each, 7e-30
# the sum, at a_k = e^-658 moved by 1e-6 among components of e^-700: 8.6e5 ulps). There the
# difference F(a_k, b_k) - F(A, B) as Taylor's remainder (stirling_gap_difference, the Beta
# KL's): each term of the result's size, from b_k - a_k and the rests' change rest_change =
# rest_p - rest (summed as B - A, from the components' differences).
GAP_CLOSE = (9 * sp.Abs(exp_difference(log_alpha_p, log_alpha)) <= a) & (
    9 * sp.Abs(exp_difference(log_alpha_p, log_alpha)) <= b
)
GAP_TAYLOR = stirling_gap_difference(a, rest, exp_difference(log_alpha_p, log_alpha), rest_change)


# Where t_j > 1 (read from plain logarithms: T's Piecewise would not print in a condition) and
# B/A is finite, b_j e^t_j is a_j (B/A): e^t_j would spread t_j's rounding, eps |t_j| (1400
# eps of a_j B/A at concentrations of 1 and e^700 in one row: 717 ulps of dlog_alpha).
FAR = (log_alpha - log_alpha_p + sp.log(B) - sp.log(A) > 1) & (B / A < sp.Float(1e308))
SCALED = exp_product(B / A, log_alpha)  # a_j B / A = b_j e^t_j


def bernoulli(function, far):
    """``function`` of b_j and t_j as by_component, but ``far`` (the same in a_j B / A) where
    FAR holds."""
    return sp.Piecewise(
        (by_component(function), KEPT & SMALL_RESTS),
        (far, FAR),
        (by_component(function), True),
    )


def by_component(function):
    """``function`` (exp_bregman_split, or a relative) of b_j and t_j as (log b_j, u, v, w)
    with t_j = (u - log b_j) + (v - w): the kept component's from the rests, the others'
    from log(B/A)."""
    kept = function(log_alpha_p, log_alpha_p, log1p(rest_p / b), log1p(rest / a))
    other = function(log_alpha_p, log_alpha_p, T, 0)
    return sp.Piecewise((kept, KEPT & SMALL_RESTS), (other, True))


# Below e^-42 (2^-60), b_j - a_j of q close to p is subnormal (1e-313 at e^-700 and a step of
# 1e-9: 1e-10 of it rounded away, 7e5 ulps of the gradients); the outputs are not (the KL is
# about the steps squared). There the differences are carried relative to a concentration:
# R = (B - A)/A as the sum of the (b_j - a_j)/A, each (a_j/A) expm1(d_j) where A < 1 and
# |d_j| <= 1 (exp_difference_ratio; d_j = log_alpha_p_j - log_alpha_j, a_j/A a share).
D = log_alpha_p - log_alpha
SHARE_STEP = exp_difference_ratio(log_alpha, log_alpha_p, 0, 0, A)
# Where both of a pair are below TINY, f'(y) - f'(x) = (1/x - 1/y) - log(y/x) + (psi(y + 1) -
# psi(x + 1)), the last below 1e-36 of the first (psi'(1) x y): expm1(d)/y - d for a
# component, R/B - log(B/A) for the sums.
COMPONENT_TINY = (a < TINY) & (b < TINY) & (sp.Abs(D) <= 1)
SUMS_TINY = (A < TINY) & (B < TINY)
SLOPE = sp.Piecewise(
    (exp_product(expm1(D), -log_alpha_p) - D, COMPONENT_TINY),
    (stirling_slope_difference(log_alpha, log_alpha_p), True),
)
SLOPE_OF_SUMS = sp.Piecewise(
    (R / B - LOG_RATIO, SUMS_TINY),
    (stirling_slope_difference_pair(A, B, B_less_A, LOG_RATIO), True),
)
# And f's gap F(x, y) = E(d) - y E(-d) + (lgamma's gap between 1 + x and 1 + y), d = log(y/x),
# the last about (pi^2/12) (y - x)^2, below 1e-36 of the first (f = lgamma(1 + x) - log x -
# x log x + x): its own helpers take y - x where the first two terms take d alone.
GAP = sp.Piecewise(
    (exp_bregman(0, D) - exp_bregman(log_alpha_p, log_alpha), COMPONENT_TINY),
    (stirling_bregman(log_alpha, log_alpha_p), True),
)
GAP_OF_SUMS = sp.Piecewise(
    (exp_bregman(0, LOG_RATIO) - B * exp_bregman(0, -LOG_RATIO), SUMS_TINY),
    (stirling_bregman_pair(A, B, B_less_A, LOG_RATIO), True),
)
# There the KL's F terms are E(d_j) and E(D), D = log(B/A) = log1p(R), each less a part below
# 2^-60 of it; where one component k holds most of both rows, d_k is near D and E(d_k) - E(D)
# cancels (1e2 ulps at shares of 0.99 moved by 1e-6). Exactly, with t_k = D - d_k (the
# Bernoulli part's t_k) and e^D = 1 + R: E(d_k) - E(D) = (1 + R) E(-t_k) - t_k R, each term
# of one sign where the others are not moved (-t_k R >= 0). The top component's term is its F
# less F(A, B) in this form (where several share the top, each F less F(A, B)/n_top), and the
# KL subtracts nothing more in these rows (nor in those n_gap counts).
# t_k itself is D - d_k, which cancels there (shares of 0.99: 85 ulps of the KL from -t_k R):
# it is log1p((R - expm1(d_k)) e^-d_k), R - expm1(d_k) = R_rest - (rest/A) expm1(d_k) with
# R_rest = sum_{j != k} (a_j/A) expm1(d_j) (R's terms less the top's): 0 where only k moves.
# That form where its terms are the smaller (where the others move as k does, they cancel).
T_TOP = sp.Piecewise(
    (
        log1p((R_rest - rest / A * expm1(D)) * sp.exp(-D)),
        sp.Abs(R_rest) + rest / A * sp.Abs(expm1(D)) < sp.Abs(D),
    ),
    (by_component(difference_sum), True),
)
TOP_GAP = (
    (1 + R) * exp_bregman(0, -T_TOP)
    - T_TOP * R
    - exp_bregman(log_alpha_p, log_alpha)
    + B * exp_bregman(0, -LOG_RATIO)
)
# The terms of B - A's sums (B_first, B_second) and of R's, scaled by 2^600 where both
# concentrations are below TINY (in the rows R is used in, all are).
SMALL_STEP = sp.Abs(D) <= 1
B_SECOND = sp.Piecewise(
    (product_error(D, log_alpha) + exp_product(exp_bregman(0, D), log_alpha), SMALL_STEP),
    (exp_difference(log_alpha_p, log_alpha), True),
)
BOTH_TINY = (a < TINY) & (b < TINY)
R_FIRST = sp.Piecewise((exp_product(SCALE * D, log_alpha), SMALL_STEP & BOTH_TINY), (0, True))
R_SECOND = sp.Piecewise(
    (
        product_error(SCALE * D, log_alpha) + exp_product(SCALE * exp_bregman(0, D), log_alpha),
        SMALL_STEP & BOTH_TINY,
    ),
    (exp_product(SCALE, log_alpha_p) - exp_product(SCALE, log_alpha), BOTH_TINY),
    (0, True),
)
# a_j f''(A) (B - A) = a_j c(log A) R and c(log_alpha_j) (b_j - a_j) = a_j c(log_alpha_j)
# expm1(d_j), with a_j applied last (exp_product) where the concentrations are tiny.
CURVED_SUM = sp.Piecewise(
    (exp_product(stirling_curvature_at(A) * R, log_alpha), SUMS_TINY),
    (sp.exp(log_alpha) / A * stirling_curvature_at(A) * B_less_A, True),
)
CURVED_OWN = sp.Piecewise(
    (exp_product(stirling_curvature(log_alpha) * expm1(D), log_alpha), COMPONENT_TINY),
    (stirling_curvature(log_alpha) * exp_difference(log_alpha_p, log_alpha), True),
)

STATISTICS = (
    klgen.Statistic(size, sp.Integer(1)),
    klgen.Statistic(A, a),
    klgen.Statistic(B, b),
    # B - A as the sum of the b_j - a_j (exp_difference: no cancellation inside each), not
    # as the difference of the sums: exact where q = p, and accurate where q is close to p;
    # with its roundings carried (compensated): the differences cancel between components too (a
    # concentration of 1 moved to another, 1 - 1), and a plain sum loses the remainder that
    # psi(B) - psi(A) is made of (1.5e15 ulps of dlog_alpha_p at B - A = 3.6e-108).
    klgen.Statistic(
        B_first, sp.Piecewise((exp_product(D, log_alpha), SMALL_STEP), (0, True)), compensated=True
    ),
    klgen.Statistic(B_second, B_SECOND, compensated=True),
    klgen.Statistic(
        A_scaled, sp.Piecewise((exp_product(SCALE, log_alpha), a < TINY), (SCALE * TINY, True))
    ),
    klgen.Statistic(R_first, R_FIRST, compensated=True),
    klgen.Statistic(R_second, R_SECOND, compensated=True),
    klgen.Statistic(m, log_alpha, "max"),
    klgen.Statistic(n_top, sp.Piecewise((1, TOP), (0, True))),
    klgen.Statistic(rest, sp.Piecewise((0, TOP), (a, True))),
    klgen.Statistic(rest_p, sp.Piecewise((0, TOP), (b, True))),
    klgen.Statistic(R_rest, sp.Piecewise((0, TOP), (SHARE_STEP, True)), compensated=True),
    klgen.Statistic(
        rest_change,
        sp.Piecewise((0, TOP), (exp_difference(log_alpha_p, log_alpha), True)),
        compensated=True,
    ),
    klgen.Statistic(n_gap, sp.Piecewise((1, GAP_KEPT), (0, True))),
    klgen.Statistic(d_max, log_alpha - log_alpha_p, "max"),
    klgen.Statistic(shifted, exp_of_difference(1, log_alpha, d_max)),
    klgen.Statistic(shift_step, SHIFT_STEP),
    klgen.Statistic(
        F_sum,
        sp.Piecewise(
            (GAP_TAYLOR, GAP_KEPT & GAP_CLOSE),
            (DOMINANT_GAP, GAP_KEPT),
            (TOP_GAP, SUMS_TINY & TOP & (n_top < sp.Rational(3, 2))),
            (GAP - GAP_OF_SUMS / n_top, SUMS_TINY & TOP),
            (GAP, True),
        ),
    ),
    klgen.Statistic(H_sum, bernoulli(exp_bregman_split, SCALED - b - exp_product(T, log_alpha_p))),
)
# A row of one component (a point mass): 0 exactly, as its gradients below.
KL = sp.Piecewise(
    (0, size < sp.Rational(3, 2)),
    (
        F_sum - sp.Piecewise((0, (n_gap > sp.S.Half) | SUMS_TINY), (GAP_OF_SUMS, True)) + H_sum,
        True,
    ),
)
# With c(x) = e^x f''(e^x) (stirling_curvature) and S(x, y) = f'(e^y) - f'(e^x)
# (stirling_slope_difference), f' = psi - log: dKL/dlog_alpha_j = a_j (psi'(A) (B - A) -
# psi'(a_j) (b_j - a_j)) = (a_j / A) c(log A) (B - A) - c(log_alpha_j) (b_j - a_j) + b_j
# expm1(t_j), the last B (Q_j - P_j), the Bernoulli-like part's; dKL/dlog_alpha_p_j = b_j
# ((psi(b_j) - psi(a_j)) - (psi(B) - psi(A))) = b_j (S(log_alpha_j, log_alpha_p_j) - S(log A,
# log B) - t_j). Each a multiple of differences that are exactly 0 at q = p.
FORMS = (
    CURVED_SUM - CURVED_OWN + bernoulli(exp_difference_split, SCALED - b),
    exp_product(
        SLOPE - SLOPE_OF_SUMS - by_component(difference_sum),
        log_alpha_p,
    ),
)
# A row of one component is a point mass whatever its concentration: its gradients are 0,
# exactly (the forms' terms cancel there, to 1e292 at log_alpha = -706, log_alpha_p = 3).
GRADIENTS = tuple(sp.Piecewise((0, size < sp.Rational(3, 2)), (form, True)) for form in FORMS)


def digamma(z):
    return sp.polygamma(0, z)


def gamma_density(concentration):
    """g^(c - 1) e^-g / Gamma(c) on g > 0: the Gamma(c, 1) density."""
    return g ** (concentration - 1) * sp.exp(-g) / sp.gamma(concentration)


def mean_log(concentration):
    """E[log g] under Gamma(c, 1), as the integral it is."""
    return sp.Integral(sp.log(g) * gamma_density(concentration), (g, 0, sp.oo))


def lgamma_gap(x, y):
    """lgamma(y) - lgamma(x) - psi(x) (y - x): lgamma's tangent gap (never negative)."""
    return sp.loggamma(y) - sp.loggamma(x) - digamma(x) * (y - x)


KERNELS = (
    klgen.Kernel(
        name="kl_dirichlet",
        args=(log_alpha, log_alpha_p),
        statistics=STATISTICS,
        term=KL,
        gradient_forms=GRADIENTS,
        computes="KL(Dirichlet(e^log_alpha) || Dirichlet(e^log_alpha_p)) over the last axis "
        "(the components), one value per row (density Gamma(a0) prod_j z_j^(a_j - 1) / "
        "prod_j Gamma(a_j) on the simplex, a0 = sum_j a_j)",
        derivation=klgen.Derivation(
            title="The KL divergence of two Dirichlet distributions, in log-concentrations",
            steps=(
                (
                    sp.loggamma(a0)
                    - sp.loggamma(b0)
                    + row(sp.loggamma(b) - sp.loggamma(a) + (a - b) * (mean_log(a) - mean_log(a0))),
                    "the definition, E_P[log p(z)/q(z)] over the simplex, with p(z) = "
                    "Gamma(a0) prod_j z_j^(a_j - 1) / prod_j Gamma(a_j), a_j = e^log_alpha_j, "
                    "a0 = sum_j a_j (q likewise with b = e^log_alpha_p): log p/q is "
                    "log Gamma(a0) - log Gamma(b0) + sum_j (log Gamma(b_j) - log Gamma(a_j) + "
                    "(a_j - b_j) log z_j), and z = g / sum_k g_k with g_k ~ Gamma(a_k, 1) "
                    "independent, sum_k g_k ~ Gamma(a0, 1): E_P[log z_j] = E[log g_j] - "
                    "E[log sum_k g_k]",
                ),
                (
                    sp.loggamma(a0)
                    - sp.loggamma(b0)
                    + row(sp.loggamma(b) - sp.loggamma(a) + (a - b) * (digamma(a) - digamma(a0))),
                    "E[log g] = psi(c) under Gamma(c, 1) (checked by quadrature at random "
                    "points: mpmath's tanh-sinh)",
                ),
                (
                    row(lgamma_gap(a, b)) - lgamma_gap(a0, b0),
                    "lgamma's tangent gaps: sum_j (a_j - b_j) psi(a0) = -(b0 - a0) psi(a0), so "
                    "the KL is the gap of log B(a) = sum_j lgamma(a_j) - lgamma(a0) to its "
                    "tangent at a, sum_j G(a_j, b_j) - G(a0, b0) with G(x, y) = lgamma(y) - "
                    "lgamma(x) - psi(x) (y - x)",
                ),
                (
                    row(stirling_bregman(log_alpha, log_alpha_p))
                    - stirling_bregman(sp.log(a0), sp.log(b0))
                    + row(exp_bregman_split(log_alpha_p, log_alpha, sp.log(b0), sp.log(a0))),
                    "lgamma = f + x log x - x, f = lgamma - x log x + x (Stirling's remainder, "
                    "convex): each G the gap F of f (stirling_bregman, in log-coordinates) plus "
                    "that of x log x - x, y log(y/x) - y + x, whose sum over j less its value at "
                    "(a0, b0) is sum_j b_j log(b_j a0 / (a_j b0)) = b0 KL(Cat(b/b0) || "
                    "Cat(a/a0)) = sum_j b_j E(t_j), E(t) = e^t - 1 - t, t_j = log a_j/a0 - "
                    "log b_j/b0 (sum_j b_j e^t_j = b0: the first-order terms sum to 0)",
                ),
            ),
            by_quadrature=(0,),
        ),
    ),
)
