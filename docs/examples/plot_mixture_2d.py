"""
A 2-D Gaussian mixture with full covariances
============================================

Three ``MultivariateNormal`` components in two dimensions: the density on a
grid of 2-vectors (``prob`` takes values of shape ``(..., 2)``) drawn as
contours, and 1500 draws coloured by the component they came from.
"""

import matplotlib.pyplot as plt
import numpy as np

import mixstat
from mixstat.distributions import Categorical, MixtureSameFamily, MultivariateNormal

w = mixstat.tensor([0.5, 0.3, 0.2])
loc = mixstat.tensor([[-2.0, -1.0], [2.0, 0.0], [0.0, 2.5]])
cov = mixstat.tensor(
    [
        [[1.0, 0.6], [0.6, 0.8]],
        [[0.6, -0.4], [-0.4, 1.2]],
        [[1.5, 0.0], [0.0, 0.2]],
    ]
)
gmm = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(loc, covariance_matrix=cov))
print("batch_shape", gmm.batch_shape, "event_shape", gmm.event_shape)

gx, gy = np.meshgrid(np.linspace(-5.5, 5.0, 160), np.linspace(-4.0, 5.0, 140))
density = gmm.prob(np.stack([gx, gy], axis=-1))  # shape (140, 160)
x, k = gmm.sample((1500,), rng=1, return_index=True)

fig, ax = plt.subplots(figsize=(6.0, 5.0))
for j in range(3):
    ax.scatter(x[k == j, 0], x[k == j, 1], s=4, alpha=0.4, label=f"component {j} (w = {w[j]:g})")
ax.contour(gx, gy, density, levels=10, colors="k", linewidths=0.7, zorder=3)
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="contours of gmm.prob and draws by component")
ax.set_aspect("equal")
ax.legend(frameon=False, fontsize=8, loc="lower right", markerscale=3)
fig.tight_layout()
