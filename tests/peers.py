"""torch's own formulas for the quantities of klgen's shipped kernels (specs/), as
value_and_grad functions on float64 numpy arrays (the gradients by autograd), for the
comparisons of tests/test_registry.py and bench/registry_accuracy.py. Validation is off:
the sampled domain includes scales of 0 and inf, which torch would refuse."""


def torch_peers():
    """Kernel name -> a value_and_grad of torch's own formula (float64 numpy in and out)."""
    try:
        import torch
        import torch.nn.functional as F
        from torch.distributions import Bernoulli, Normal, Poisson, kl_divergence
    except ImportError:
        return {}

    def peer(formula):
        def value_and_grad(*arrays):
            inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
            value = formula(*inputs)
            grads = torch.autograd.grad(value.sum(), inputs, allow_unused=True)
            grads = [
                torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True)
            ]
            return value.detach().numpy()[:, 0], [g.numpy() for g in grads]

        return value_and_grad

    return {
        "kl_bernoulli": peer(
            lambda a, b: kl_divergence(
                Bernoulli(logits=a, validate_args=False), Bernoulli(logits=b, validate_args=False)
            )
        ),
        "nll_bernoulli": peer(
            lambda a, x: F.binary_cross_entropy_with_logits(a, x, reduction="none")
        ),
        "kl_poisson": peer(
            lambda r, s: kl_divergence(
                Poisson(r.exp(), validate_args=False), Poisson(s.exp(), validate_args=False)
            )
        ),
        "nll_gaussian": peer(
            lambda x, m, lv: -Normal(m, (lv / 2).exp(), validate_args=False).log_prob(x)
        ),
    }
