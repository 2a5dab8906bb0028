import sympy as sp

import klgen

a, b = sp.symbols("logits logits_p", real=True)
x, mu, logvar = sp.symbols("x mu logvar", real=True)
s = klgen.sigmoid

KERNELS = (
    klgen.Kernel(
        name="kl_bernoulli",
        args=(a, b),
        term=s(a) * (sp.log(s(a)) - sp.log(s(b))) + s(-a) * (sp.log(s(-a)) - sp.log(s(-b))),
        computes="KL(Bernoulli(sigmoid(logits)) || Bernoulli(sigmoid(logits_p))) per row",
    ),
    klgen.Kernel(
        name="nll_gaussian",
        args=(x, mu, logvar),
        term=(sp.log(2 * sp.pi) + logvar + (x - mu) ** 2 * sp.exp(-logvar)) / 2,
        computes="-log N(x; mu, exp(logvar)) summed over the last axis",
    ),
    klgen.Kernel(
        name="log_softmax_nll",
        args=(a,),
        term=a,
        reduce="logsumexp",
        computes="log sum_j exp(logits_j) per row (the log-normaliser of categorical logits)",
    ),
)
