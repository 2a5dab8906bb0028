"""A numpy VAE trainer for MNIST that takes the KL divergence and its gradients from the
kernels klgen generates (``generated.kl_std_normal``, ``generated.kl_diag_normal``).

Run it with ``python -m klgen.vae`` (or ``klgen train``); see ``python -m klgen.vae --help``.
"""
