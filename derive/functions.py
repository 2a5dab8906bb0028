"""Functions loss terms use that SymPy lacks: ``klgen.sigmoid``, ``klgen.softplus``,
``klgen.logaddexp`` and ``klgen.xlogy``; and the forms rewrites introduce
(``softplus_bregman``, ``sigmoid_difference``, ``exp_difference``, ``exp_bregman``,
``exp_product``, ``log_exprel`` and its slope, ``exprel``, ``rounded_sum``, ``sum_error``,
``product_error``, ``small_error``, ``difference_of_differences_error``,
``exp_of_difference_error``; for the Gamma and Beta KLs ``stirling_bregman``,
``beta_stirling_gap`` and its slopes, ``beta_bernoulli_gap``, its slope and
``beta_weighted_log_ratio``, ``stirling_slope_difference``, ``stirling_curvature``,
``exp_bregman_split``, ``exp_difference_split``, ``difference_sum``).

Each is a SymPy function with its derivative (so the gradients stay in these functions,
which the printers evaluate stably) and its definition in plain SymPy (``exact``), which the
rewrites are proved against and which the generated tests evaluate in mpmath.
"""

import sympy as sp
from sympy.codegen.cfunctions import log1p


class sigmoid(sp.Function):  # noqa: N801 (named as users write it)
    """1 / (1 + e^-x), evaluated without overflow for every x."""

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sigmoid(x) * sigmoid(-x)

    def exact(self):
        return 1 / (1 + sp.exp(-self.args[0]))

    def primitive(self):
        """The form the numpy blocks evaluate: max(e, sign(x)) / (1 + e), e =
        e^-|x| (the numerator 1 for x >= 0, e below; max rather than a select, which numpy
        evaluates 10x slower with random signs), so that a kernel's sigmoids and softplus
        of x and -x share one exponential."""
        x = self.args[0]
        e = sp.exp(-sp.Abs(x))
        return sp.Max(e, sp.sign(x)) / (1 + e)


class softplus(sp.Function):  # noqa: N801
    """log(1 + e^x), evaluated as max(x, 0) + log1p(e^-|x|): finite for every finite x."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def exact(self):
        return sp.log(1 + sp.exp(self.args[0]))

    def primitive(self):
        """max(x, 0) + log1p(e^-|x|), in the operations the printers have (see sigmoid)."""
        x = self.args[0]
        return sp.Max(x, 0) + log1p(sp.exp(-sp.Abs(x)))


class logaddexp(sp.Function):  # noqa: N801
    """log(e^a + e^b), evaluated as max(a, b) + log1p(e^-|a - b|)."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sigmoid(a - b) if argindex == 1 else sigmoid(b - a)

    def exact(self):
        a, b = self.args
        return sp.log(sp.exp(a) + sp.exp(b))


class xlogy(sp.Function):  # noqa: N801
    """x log(y), and 0 where x = 0 (whatever y): the convention of entropy terms."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, y = self.args
        return sp.log(y) if argindex == 1 else x / y

    def exact(self):
        x, y = self.args
        return x * sp.log(y)


class softplus_bregman(sp.Function):  # noqa: N801
    """softplus(b) - softplus(a) - sigmoid(a) (b - a): how far softplus at b lies above its
    tangent at a (its Bregman divergence), which is the KL divergence between Bernoulli
    distributions of logits a and b. Typed as it reads it cancels where b is near a; the
    printers evaluate it as a sum of two terms that are never negative (the rewrite
    ``softplus_bregman`` of derive/rewrites.py finds it in a user's term)."""

    nargs = 2

    def fdiff(self, argindex=1):
        """-sigmoid(a) sigmoid(-a) (b - a), written -(b - a) e^-|a| sigmoid(|a|)^2 with the
        exponential applied last (sigmoid(-711) alone is subnormal, the product need not
        be); and sigmoid(b) - sigmoid(a)."""
        a, b = self.args
        if argindex == 2:
            return sigmoid_difference(b, a)
        return -exp_product(b - a, -sp.Abs(a)) * sigmoid(sp.Abs(a)) ** 2

    def exact(self):
        a, b = self.args
        return softplus(b).exact() - softplus(a).exact() - sigmoid(a).exact() * (b - a)


class sigmoid_difference(sp.Function):  # noqa: N801
    """sigmoid(x) - sigmoid(y), evaluated as sigmoid(y) sigmoid(-x) expm1(x - y) (or its
    mirror image, whichever takes expm1 of a number <= 0): no cancellation where x is near y
    or both are large (the rewrite ``sigmoid_difference`` of derive/rewrites.py finds it)."""

    nargs = 2

    def fdiff(self, argindex=1):
        x = self.args[argindex - 1]
        slope = sigmoid(x) * sigmoid(-x)
        return slope if argindex == 1 else -slope

    def exact(self):
        x, y = self.args
        return sigmoid(x).exact() - sigmoid(y).exact()


class exp_difference(sp.Function):  # noqa: N801
    """e^x - e^y, evaluated as +-e^max(x, y) (1 - e^-|x - y|) with expm1: no cancellation
    where x is near y, and no overflow of a factor while the difference is finite (the
    rewrite ``exp_difference`` of derive/rewrites.py finds it)."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sp.exp(self.args[0]) if argindex == 1 else -sp.exp(self.args[1])

    def exact(self):
        x, y = self.args
        return sp.exp(x) - sp.exp(y)


class exp_bregman(sp.Function):  # noqa: N801
    """e^b - e^a - e^a (b - a): how far e^x at b lies above its tangent at a (its Bregman
    divergence), which is the KL divergence between Poisson distributions of log-rates a and
    b. Evaluated as e^a (e^d - 1 - d), d = b - a, while d <= 2 (the series near 0), and as
    e^b - e^a (1 + d) beyond (the rewrite ``exp_bregman`` of derive/rewrites.py finds it)."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return -sp.exp(a) * (b - a) if argindex == 1 else exp_difference(b, a)

    def exact(self):
        a, b = self.args
        return sp.exp(b) - sp.exp(a) - sp.exp(a) * (b - a)


class exp_gap(sp.Function):  # noqa: N801
    """e^b - e^(x - y) (1 + t) for b = u - v + c = x - y + t: a weight e^(x - y) times e^t's
    gap above its tangent at 0, e^(x - y) (e^t - 1 - t), a term of the categorical KL
    (specs/categorical.py). Evaluated as exp_of_difference(e^t - 1 - t, x, y) while t <= 2
    (the series near 0: no cancellation near t = 0, exactly 0 there), as e^b (1 - (1 + t)
    e^-t) beyond, b from u, v and c with the roundings of u - v and of adding c added back
    (x - y + t rounded can be far less accurate: x - y = -1e4 beside t = 1e4 + 0.5), so
    that a weight that underflows beside an e^t that overflows gives their product. A
    weight of exactly 0 (x = -inf) gives the limit e^b."""

    nargs = 6

    def fdiff(self, argindex=1):
        x, y, t, u, v, c = self.args
        weight, top = sp.exp(x - y), sp.exp(u - v + c)
        slopes = (-weight * (1 + t), weight * (1 + t), -weight, top, -top, top)
        return slopes[argindex - 1]

    def exact(self):
        x, y, t, u, v, c = self.args
        return sp.exp(u - v + c) - sp.exp(x - y) * (1 + t)


class exp_of_difference(sp.Function):  # noqa: N801
    """m e^(x - y), with the rounding of x - y added back (two-sum: e^(hi + lo) = e^hi (1 +
    lo)) and e^hi scaled as exp_product's: a shifted softmax weight e^(logits - m) to an ulp
    or two where x - y = -34.66 rounded would cost 17 ulps. 0 where x - y is -inf, whatever
    m (a category of probability 0 contributes nothing: 0 log 0 = 0)."""

    nargs = 3

    def fdiff(self, argindex=1):
        m, x, y = self.args
        if argindex == 1:
            return sp.exp(x - y)
        return exp_of_difference(m, x, y) if argindex == 2 else -exp_of_difference(m, x, y)

    def exact(self):
        m, x, y = self.args
        return m * sp.exp(x - y)


class exp_product(sp.Function):  # noqa: N801
    """m e^x, evaluated with x reduced to r + k ln 2 and 2**k applied last: no overflow or
    underflow of e^x where the product is finite ((x - mu)^2 e^-logvar at logvar = -720,
    where e^-logvar overflows; the rewrite ``exp_product`` of derive/rewrites.py finds it)."""

    nargs = 2

    def fdiff(self, argindex=1):
        m, x = self.args
        return sp.exp(x) if argindex == 1 else exp_product(m, x)

    def exact(self):
        m, x = self.args
        return m * sp.exp(x)


class log_exprel(sp.Function):  # noqa: N801
    """log((e^x - 1) / x), 0 at x = 0: the log-normaliser of the continuous Bernoulli
    distribution in logits. Typed as it reads it is 0/0 at 0 and loses every digit near it
    (the value is x/2 + x^2/24 + ...), and e^x overflows at 710 where the value is x - log x;
    the printers evaluate log1p((e^x - 1 - x)/x) (the series near 0), log1p(-e^x) - log(-x)
    below -1 and x - log(x) above 700 (the rewrite ``log_exprel`` finds it)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return log_exprel_slope(self.args[0])

    def exact(self):
        x = self.args[0]
        return sp.log((sp.exp(x) - 1) / x)


class log_exprel_slope(sp.Function):  # noqa: N801
    """e^x / (e^x - 1) - 1/x, 1/2 at x = 0: the derivative of ``log_exprel``, evaluated as
    1 - g(x) for x >= 0 and g(-x) below, g(t) = (e^t - 1 - t) / (t (e^t - 1)) (1/t above
    t = 40): no cancellation of the two 1/x-sized terms near 0, none of 1 - g at x < 0."""

    nargs = 1

    def exact(self):
        x = self.args[0]
        return sp.exp(x) / (sp.exp(x) - 1) - 1 / x


class exprel(sp.Function):  # noqa: N801
    """(e^x - 1) / x, 1 at x = 0: expm1(x) = x exprel(x) lets a small x = m e^z keep its
    scale in exp_product where x itself would underflow (the gradient of kl_laplace in loc,
    e^-log_scale_p (1 - e^-|d| e^-log_scale), at log_scale = 710: rewrite
    ``expm1_of_product``)."""

    nargs = 1

    def exact(self):
        x = self.args[0]
        return (sp.exp(x) - 1) / x


class rounded_sum(sp.Function):  # noqa: N801
    """x + y, marked as one floating-point addition: the sum whose rounding error
    ``sum_error(x, y)`` is (an Add of SymPy's would be flattened into its neighbours and
    reordered, and its rounding would no longer be that one)."""

    nargs = 2

    def exact(self):
        x, y = self.args
        return x + y


class sum_error(sp.Function):  # noqa: N801
    """x + y - fl(x + y), the rounding error of ``rounded_sum(x, y)`` (Knuth's two-sum): 0 in
    exact arithmetic, and 0 where the sum is not finite. The rewrite
    ``compensated_exponent`` adds it back to an exponent: e^(x + y) = e^fl(x + y) (1 + err)
    to second order, where e^fl(x + y) alone would carry |x + y| eps of relative error."""

    nargs = 2

    def exact(self):
        return sp.Integer(0)


class product_error(sp.Function):  # noqa: N801
    """m e^x - fl(exp_product(m, x)), the rounding error of ``exp_product(m, x)`` (e^x's
    own and the product's), from e^x in twice the precision: 0 in exact arithmetic. The
    rewrite ``compensated_exponent`` adds it back to an exponent holding such a product
    (kl_laplace's |d| e^-log_scale: its eps of relative error is |d| e^-log_scale eps in
    the exponential, 42 ulps where that is 350)."""

    nargs = 2

    def exact(self):
        return sp.Integer(0)


class small_error(sp.Function):  # noqa: N801
    """A sum of rounding errors where its magnitude is below 1, else 0 (NaN included): one
    of 1 or more comes from terms of 1/eps or more, where the exponential it corrects is 0
    or inf anyway, and an infinite one from an infinite term. 0 in exact arithmetic, as
    the errors are."""

    nargs = 1

    def exact(self):
        return self.args[0]


# --- lgamma's Bregman divergence in log-coordinates (the Gamma KL) ---------------------------
# f(x) = lgamma(x) - x log x + x is lgamma less the leading terms of Stirling's series: it is
# convex (f'' = psi'(x) - 1/x > 0), and lgamma's own tangent gap at x = e^a, y = e^b is f's plus
# e^b E(a - b), E(t) = e^t - 1 - t, which rewrites merge with the KL's other exponentials.


def _stirling_f(x):
    return sp.loggamma(x) - x * sp.log(x) + x


class stirling_bregman(sp.Function):  # noqa: N801
    """f(e^b) - f(e^a) - f'(e^a) (e^b - e^a), f(x) = lgamma(x) - x log x + x: the gap between f
    and its tangent, in log-coordinates a, b (log-concentrations, so that b - a is exact).
    Evaluated as a sum of terms that are never negative (recurrence of lgamma up to x >= 12,
    then Stirling's series of the gap), not as the difference of lgammas, which cancels where
    b is near a and keeps no digit at large e^a (the rewrite ``lgamma_bregman`` finds it)."""

    nargs = 2

    def fdiff(self, argindex=1):
        """-e^a f''(e^a) (e^b - e^a), and e^b (f'(e^b) - f'(e^a)), each difference a node."""
        a, b = self.args
        if argindex == 1:
            return -stirling_curvature(a) * exp_difference(b, a)
        return exp_product(stirling_slope_difference(a, b), b)

    def exact(self):
        a, b = self.args
        x, y = sp.exp(a), sp.exp(b)
        slope = sp.polygamma(0, x) - a
        return _stirling_f(y) - _stirling_f(x) - slope * (y - x)


class stirling_slope_difference(sp.Function):  # noqa: N801
    """f'(e^b) - f'(e^a), f'(x) = psi(x) - log x: evaluated term by term from the same
    recurrence and series as ``stirling_bregman``, each term a multiple of e^b - e^a, so that
    it does not cancel where b is near a."""

    nargs = 2

    def exact(self):
        a, b = self.args
        return sp.polygamma(0, sp.exp(b)) - b - sp.polygamma(0, sp.exp(a)) + a


class stirling_curvature(sp.Function):  # noqa: N801
    """e^a f''(e^a) = e^a psi'(e^a) - 1, which is about e^-a / 2 for large a: evaluated from
    its series there (e^a psi'(e^a) alone rounds to 1)."""

    nargs = 1

    def exact(self):
        x = sp.exp(self.args[0])
        return x * sp.polygamma(1, x) - 1


class stirling_bregman_pair(sp.Function):  # noqa: N801
    """f(y) - f(x) - f'(x) (y - x), f = lgamma - x log x + x, for concentrations x, y > 0
    given with their difference y - x and d = log(y/x), each accurate (the Dirichlet KL's sums
    of concentrations, whose logarithms rounded alone would put |log x| eps into d):
    ``stirling_bregman``'s evaluation without its exponentials. A function of x and y alone:
    the last two arguments are how it reads them."""

    nargs = 4

    def fdiff(self, argindex=1):
        """-f''(x) (y - x) = -(x f''(x)) (y - x) / x, and f'(y) - f'(x); 0 for the last two
        (the value does not depend on them)."""
        x, y, difference, d = self.args
        if argindex == 1:
            return -stirling_curvature_at(x) * difference / x
        if argindex == 2:
            return stirling_slope_difference_pair(x, y, difference, d)
        return sp.Integer(0)

    def exact(self):
        x, y = self.args[:2]
        return _f_gap(x, y)


class stirling_slope_difference_pair(sp.Function):  # noqa: N801
    """f'(y) - f'(x), f' = psi - log, for concentrations given as ``stirling_bregman_pair``'s:
    ``stirling_slope_difference``'s evaluation without its exponentials."""

    nargs = 4

    def exact(self):
        x, y = self.args[:2]
        return sp.polygamma(0, y) - sp.log(y) - sp.polygamma(0, x) + sp.log(x)


class stirling_curvature_at(sp.Function):  # noqa: N801
    """x f''(x) = x psi'(x) - 1 at a concentration x > 0: ``stirling_curvature``'s evaluation
    without its exponential (e^(log x) of a rounded log x carries |log x| eps)."""

    nargs = 1

    def exact(self):
        x = self.args[0]
        return x * sp.polygamma(1, x) - 1


class stirling_gap_difference(sp.Function):  # noqa: N801
    """F(x, x + h) - F(s, s + h + k), s = x + b, F f's gap (``stirling_bregman_pair``), for a
    concentration x, a small one b beside it and changes h, k (the Dirichlet KL's dominant
    component x with the others' sum b, x's change h and theirs k): evaluated as Taylor's
    remainder, of second order in the changes times b, where b, b + k and |h| are below x/8
    (the Beta helpers' ``_gap_difference``); there the difference of the two gaps, and the
    decomposed form's first-order terms, cancel. A value form only (no derivative)."""

    nargs = 4

    def exact(self):
        x, b, h, k = self.args
        return _f_gap(x, x + h) - _f_gap(x + b, x + b + h + k)


def _beta_exact(x, y, u, v):
    """(a, b, a_p, b_p, s, s_p) for log-concentrations x, y, u, v."""
    a, b, a_p, b_p = sp.exp(x), sp.exp(y), sp.exp(u), sp.exp(v)
    return a, b, a_p, b_p, a + b, a_p + b_p


def _f_gap(x, y):
    """f(y) - f(x) - f'(x) (y - x), f(z) = lgamma(z) - z log z + z."""
    slope = sp.polygamma(0, x) - sp.log(x)
    return _stirling_f(y) - _stirling_f(x) - slope * (y - x)


class beta_stirling_gap(sp.Function):  # noqa: N801
    """F(a, a_p) + F(b, b_p) - F(a + b, a_p + b_p), F the gap of f = lgamma - x log x + x
    (``stirling_bregman``), a = e^x, b = e^y, a_p = e^u, b_p = e^v: the Beta KL less its
    Bernoulli part. Typed as it reads it cancels where one concentration is far below the
    other (b << a: a + b ~ a); evaluated in whichever of three exactly equal forms has the
    smallest terms (the rewrite ``lbeta_bregman`` finds it)."""

    nargs = 4

    def fdiff(self, argindex=1):
        """a dK/da and b dK/db (``beta_stirling_slope``), a_p dK/da_p and b_p dK/db_p
        (``beta_stirling_slope_p``), the second of each with the pairs exchanged."""
        x, y, u, v = self.args
        node = beta_stirling_slope if argindex in (1, 2) else beta_stirling_slope_p
        return node(x, y, u, v) if argindex in (1, 3) else node(y, x, v, u)

    def exact(self):
        a, b, a_p, b_p, s, s_p = _beta_exact(*self.args)
        return _f_gap(a, a_p) + _f_gap(b, b_p) - _f_gap(s, s_p)


class beta_stirling_slope(sp.Function):  # noqa: N801
    """a dK/da, K = beta_stirling_gap(x, y, u, v), a = e^x: a (f''(s) (s_p - s) - f''(a)
    (a_p - a)), f'' = psi' - 1/x, evaluated without its cancellation where b << a."""

    nargs = 4

    def exact(self):
        a, b, a_p, b_p, s, s_p = _beta_exact(*self.args)
        curvature = lambda z: sp.polygamma(1, z) - 1 / z  # noqa: E731
        return a * (curvature(s) * (s_p - s) - curvature(a) * (a_p - a))


class beta_stirling_slope_p(sp.Function):  # noqa: N801
    """a_p dK/da_p, K = beta_stirling_gap(x, y, u, v), a_p = e^u: a_p ((f'(a_p) - f'(a)) -
    (f'(s_p) - f'(s))), f' = psi - log, evaluated without its cancellation where b << a."""

    nargs = 4

    def exact(self):
        a, b, a_p, b_p, s, s_p = _beta_exact(*self.args)
        slope = lambda z: sp.polygamma(0, z) - sp.log(z)  # noqa: E731
        return a_p * (slope(a_p) - slope(a) - slope(s_p) + slope(s))


class beta_bernoulli_gap(sp.Function):  # noqa: N801
    """e^S_p softplus_bregman(u - v, x - y), S_p = logaddexp(u, v): s_p KL(Bernoulli(pi_p) ||
    Bernoulli(pi)), pi = e^x/(e^x + e^y), pi_p = e^u/(e^u + e^v), the Beta KL's part from x log
    x - x (log-concentrations x, y, u, v). Evaluated as a_p E(r_1) + b_p E(r_2), r_1 = log
    pi/pi_p, r_2 = log (1 - pi)/(1 - pi_p), E(t) = e^t - 1 - t, the log ratios from the
    logits' difference summed from the arguments' differences: no e^-|l_p| with the rounding
    of the logit l_p = u - v in it that s_p would multiply back (the rewrite ``lbeta_bregman``
    makes it)."""

    nargs = 4

    def fdiff(self, argindex=1):
        """a_p expm1(r_1) and b_p expm1(r_2) (``beta_bernoulli_slope``), -a_p r_1 and -b_p r_2
        (``beta_weighted_log_ratio``): the terms of first order cancel."""
        x, y, u, v = self.args
        pairs = (x, y, u, v) if argindex in (1, 3) else (y, x, v, u)
        node = beta_bernoulli_slope if argindex in (1, 2) else beta_weighted_log_ratio
        return node(*pairs) if argindex in (1, 2) else -node(*pairs)

    def exact(self):
        x, y, u, v = self.args
        return sp.exp(logaddexp(u, v).exact()) * softplus_bregman(u - v, x - y).exact()


class beta_bernoulli_slope(sp.Function):  # noqa: N801
    """a_p expm1(log pi/pi_p) = s_p pi - a_p, ``beta_bernoulli_gap``'s derivative in x."""

    nargs = 4

    def exact(self):
        x, y, u, v = self.args
        return (sp.exp(u) + sp.exp(v)) * sp.exp(x) / (sp.exp(x) + sp.exp(y)) - sp.exp(u)


class beta_weighted_log_ratio(sp.Function):  # noqa: N801
    """a_p log pi/pi_p, a_p = e^u, pi = e^x/(e^x + e^y), pi_p = e^u/(e^u + e^v): minus
    ``beta_bernoulli_gap``'s derivative in u, evaluated with e^u or e^v applied last."""

    nargs = 4

    def exact(self):
        x, y, u, v = self.args
        ratio = x - u - sp.log(sp.exp(x) + sp.exp(y)) + sp.log(sp.exp(u) + sp.exp(v))
        return sp.exp(u) * ratio


class exp_bregman_split(sp.Function):  # noqa: N801
    """exp_bregman(a, b + c - d) = e^a (e^D - 1 - D) with D = (b - a) + (c - d) summed from its
    two differences (each exact where its terms are close: q = p gives D = 0 exactly), and
    e^(b + c - d) as e^b e^c e^-d (no rounding of b + c - d spread by e^x) where D > 2."""

    nargs = 4

    def fdiff(self, argindex=1):
        a, b, c, d = self.args
        if argindex == 1:
            return -exp_product(difference_sum(a, b, c, d), a)
        slope = exp_difference_split(a, b, c, d)
        return -slope if argindex == 4 else slope

    def exact(self):
        a, b, c, d = self.args
        return sp.exp(b + c - d) - sp.exp(a) - sp.exp(a) * (b + c - d - a)


class exp_difference_split(sp.Function):  # noqa: N801
    """e^(b + c - d) - e^a = e^a expm1(D), D = (b - a) + (c - d) as in ``exp_bregman_split``."""

    nargs = 4

    def exact(self):
        a, b, c, d = self.args
        return sp.exp(b + c - d) - sp.exp(a)


class exp_difference_ratio(sp.Function):  # noqa: N801
    """(e^(b + c - d) - e^a) / s, s > 0: ``exp_difference_split`` relative to s (the Dirichlet
    KL's (B - A)/A and (shifted - B)/B, summed over the components). Evaluated as (e^a / s)
    expm1(D), e^a applied last, where |D| <= 1 and s < 1: e^a expm1(D) alone is subnormal
    at concentrations of e^-700 and steps of 1e-9, and keeps only 1e-10 of itself."""

    nargs = 5

    def exact(self):
        a, b, c, d, s = self.args
        return (sp.exp(b + c - d) - sp.exp(a)) / s


class difference_sum(sp.Function):  # noqa: N801
    """(b - a) + (c - d), summed in that order (each difference exact where its terms are
    close; SymPy would flatten the sum into an order of its own)."""

    nargs = 4

    def fdiff(self, argindex=1):
        return sp.Integer((-1, 1, 1, -1)[argindex - 1])

    def exact(self):
        a, b, c, d = self.args
        return b - a + c - d


class difference_of_differences(sp.Function):  # noqa: N801
    """((a - b) - (c - e)) - f with the roundings of every subtraction added back (Knuth's
    two-sum): within an ulp or two of itself however close the differences are (the
    categorical KL's d = (logits - m) - (logits_p - m_p), which is a rounding residue when
    logits_p is logits shifted by a constant, and d less its rough mean, f, whose
    cancellation a rounded d would spoil: specs/categorical.py). f = 0 for the difference
    of two differences alone."""

    nargs = 5

    def fdiff(self, argindex=1):
        return sp.Integer((1, -1, -1, 1, -1)[argindex - 1])

    def exact(self):
        a, b, c, e, f = self.args
        return a - b - c + e - f


class difference_of_differences_error(sp.Function):  # noqa: N801
    """The rounding error of ``difference_of_differences(a, b, c, e, f)``: its exact value
    less the float it returns (that float's last addition by two-sum), 0 in exact
    arithmetic. A sum of such differences, each weighted, whose terms cancel to far below
    their sizes needs it: the categorical KL's mean of d less its rough mean, where an ulp
    of one term is tens of ulps of the smallest d_j - mean (specs/categorical.py). Its
    derivatives are 0, as a rounding error's are taken to be."""

    nargs = 5

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    def exact(self):
        return sp.Integer(0)


class exp_of_difference_error(sp.Function):  # noqa: N801
    """(m + m_error) e^(x - y) - exp_of_difference(m, x, y), m_error the rounding error of
    m (a float standing for m + m_error): exp_of_difference's own rounding errors (the
    product with the exponent's residue, e^x's, the product's) and m's carried through,
    with e^x to 3e-18 relative; 0 in exact arithmetic, as the errors are. With a sum
    of exp_of_difference in twice the precision (``klgen.Statistic(compensated=True)``),
    the weighted sum sum_j m_j e^(x_j - y) to far below an ulp of its terms' sizes. Its
    derivatives are 0, as a rounding error's are taken to be."""

    nargs = 4

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    def exact(self):
        return sp.Integer(0)


FUNCTIONS = (
    sigmoid,
    softplus,
    logaddexp,
    xlogy,
    softplus_bregman,
    sigmoid_difference,
    exp_difference,
    exp_bregman,
    exp_gap,
    exp_of_difference,
    exp_product,
    difference_of_differences,
    difference_of_differences_error,
    exp_of_difference_error,
    log_exprel,
    log_exprel_slope,
    exprel,
    rounded_sum,
    sum_error,
    product_error,
    small_error,
)
# The Gamma and Beta KLs', evaluated by helpers of the same names.
GAMMA_FUNCTIONS = (
    stirling_bregman,
    beta_bernoulli_gap,
    beta_bernoulli_slope,
    beta_weighted_log_ratio,
    beta_stirling_gap,
    beta_stirling_slope,
    beta_stirling_slope_p,
    stirling_slope_difference,
    stirling_curvature,
    stirling_bregman_pair,
    stirling_slope_difference_pair,
    stirling_curvature_at,
    stirling_gap_difference,
    exp_bregman_split,
    exp_difference_split,
    exp_difference_ratio,
    difference_sum,
)
FUNCTIONS += GAMMA_FUNCTIONS


# Evaluated by the numpy blocks in their primitive forms (``primitive``), so that
# common subexpressions are shared across them.
PRIMITIVE = (sigmoid, softplus)


def as_primitive(expr: sp.Expr) -> sp.Expr:
    """``expr`` with sigmoid and softplus written in the operations that evaluate them: the
    sigmoid and softplus of x and -x then share e^-|x| (and sigmoids 1 + e^-|x|), one
    exponential and one log1p for all four, where their helpers took four and two."""
    return expr.replace(lambda e: isinstance(e, PRIMITIVE), lambda e: e.primitive())


def as_exact(expr: sp.Expr) -> sp.Expr:
    """``expr`` with these functions replaced by their definitions."""
    for function in FUNCTIONS:
        expr = expr.replace(function, lambda *args, f=function: f(*args).exact())
    return expr
