r"""
A 1-D Gaussian mixture: density and distribution function
=========================================================

The mixture :math:`0.3\,\mathcal N(-2, 0.5^2) + 0.7\,\mathcal N(2, 1)` as a
``MixtureSameFamily`` of a ``Categorical`` over two ``Normal`` components.
``prob`` and ``cdf`` are evaluated on a grid of points; the weighted component
densities come from the component distribution itself, whose batch holds the
two components.
"""

import matplotlib.pyplot as plt
import numpy as np

import mixstat
from mixstat.distributions import Categorical, MixtureSameFamily, Normal

w = mixstat.tensor([0.3, 0.7])
comp = Normal(loc=mixstat.tensor([-2.0, 2.0]), scale=mixstat.tensor([0.5, 1.0]))
dist = MixtureSameFamily(Categorical(probs=w), comp)

x = np.linspace(-5.0, 6.0, 400)
density = dist.prob(x)
cdf = dist.cdf(x)
# log_prob of the (K,) component batch at x[:, None] has shape (400, K)
weighted = np.exp(comp.log_prob(x[:, None])) * w

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9.0, 3.4))
for k in range(2):
    ax0.fill_between(x, weighted[:, k], color=f"C{k + 2}", alpha=0.35, lw=0, label=f"component {k} × {w[k]:g}")
ax0.plot(x, density, lw=1.8, color="k", label="dist.prob(x)")
ax0.set(xlabel="x", ylabel="density", title="density")
ax0.set_ylim(0.0, 0.4)
ax0.legend(frameon=False, fontsize=8, loc="upper left")
ax1.plot(x, cdf, lw=2, color="C1")
ax1.axhline(0.3, color="0.6", lw=0.8)
ax1.set(xlabel="x", ylabel="P(X ≤ x)", title="dist.cdf(x)")
fig.tight_layout()

# %%
# The moments follow from the laws of total expectation and variance:
print("mean", float(dist.mean), "variance", float(dist.variance))
