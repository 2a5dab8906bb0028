"""torch's own formulas for the quantities of klgen's shipped kernels (specs/), for the
comparisons of tests/test_registry.py and the benchmarks bench/registry_accuracy.py and
bench/registry_vs_torch.py. Validation is off: the sampled domain includes scales of 0 and
inf, which torch would refuse."""


def formulas() -> dict:
    """Kernel name -> torch's formula on tensors, one value per element ({} without torch)."""
    try:
        import torch.nn.functional as F
        from torch.distributions import (
            Bernoulli,
            Beta,
            Categorical,
            ContinuousBernoulli,
            Dirichlet,
            Gamma,
            Laplace,
            Normal,
            Poisson,
            kl_divergence,
        )
    except ImportError:
        return {}

    def bernoulli(logits):
        return Bernoulli(logits=logits, validate_args=False)

    def poisson(log_rate):
        return Poisson(log_rate.exp(), validate_args=False)

    def laplace(loc, log_scale):
        return Laplace(loc, log_scale.exp(), validate_args=False)

    def gamma(log_concentration, log_rate):
        return Gamma(log_concentration.exp(), log_rate.exp(), validate_args=False)

    def beta(log_a, log_b):
        return Beta(log_a.exp(), log_b.exp(), validate_args=False)

    return {
        "kl_bernoulli": lambda a, b: kl_divergence(bernoulli(a), bernoulli(b)),
        "nll_bernoulli": lambda a, x: F.binary_cross_entropy_with_logits(a, x, reduction="none"),
        "nll_continuous_bernoulli": lambda a, x: (
            -ContinuousBernoulli(logits=a, validate_args=False).log_prob(x)
        ),
        "kl_poisson": lambda r, s: kl_divergence(poisson(r), poisson(s)),
        "kl_laplace": lambda m, s, m_p, s_p: kl_divergence(laplace(m, s), laplace(m_p, s_p)),
        "kl_gamma": lambda a, b, a_p, b_p: kl_divergence(gamma(a, b), gamma(a_p, b_p)),
        "kl_beta": lambda a, b, a_p, b_p: kl_divergence(beta(a, b), beta(a_p, b_p)),
        "kl_categorical": lambda a, b: kl_divergence(
            Categorical(logits=a, validate_args=False), Categorical(logits=b, validate_args=False)
        ),
        "kl_dirichlet": lambda a, b: kl_divergence(
            Dirichlet(a.exp(), validate_args=False), Dirichlet(b.exp(), validate_args=False)
        ),
        "nll_gaussian": lambda x, m, lv: (
            -Normal(m, (lv / 2).exp(), validate_args=False).log_prob(x)
        ),
    }


def torch_peers() -> dict:
    """Kernel name -> a value_and_grad of torch's formula: float64 numpy arrays (one element
    per row, or for kl_categorical and kl_dirichlet the categories or components) in,
    (values, gradients) out, the gradients by autograd."""
    by_name = formulas()
    if not by_name:
        return {}
    import torch

    def peer(formula):
        def value_and_grad(*arrays):
            inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
            value = formula(*inputs)
            grads = torch.autograd.grad(value.sum(), inputs, allow_unused=True)
            grads = [
                torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True)
            ]
            value = value.detach().numpy()
            return (value if value.ndim == 1 else value[:, 0]), [g.numpy() for g in grads]

        return value_and_grad

    return {name: peer(formula) for name, formula in by_name.items()}
