"""
Sampling a mixture, with the component of each draw
===================================================

Ancestral sampling draws a component index from the mixing weights, then one
value from that component only. ``return_index=True`` returns the indices
too; an ``int`` seed makes the draws reproducible whatever the number of
threads.
"""

import matplotlib.pyplot as plt
import numpy as np

import mixstat
from mixstat.distributions import Categorical, MixtureSameFamily, Normal

dist = MixtureSameFamily(
    Categorical(probs=mixstat.tensor([0.3, 0.7])),
    Normal(loc=mixstat.tensor([-2.0, 2.0]), scale=mixstat.tensor([0.5, 1.0])),
)
samples, index = dist.sample((100_000,), rng=0, return_index=True)
print(samples.shape, index.dtype, "share of component 0:", np.mean(index == 0))

bins = np.linspace(-5.0, 6.0, 111)
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.hist(
    [samples[index == 0], samples[index == 1]],
    bins=bins,
    stacked=True,
    density=True,
    label=["drawn from component 0", "drawn from component 1"],
)
ax.plot(bins, dist.prob(bins), color="k", lw=1.5, label="dist.prob(x)")
ax.set(xlabel="x", ylabel="density", title="100 000 draws, stacked by component")
ax.set_ylim(0.0, 0.4)
ax.legend(frameon=False, fontsize=8, loc="upper left")
fig.tight_layout()

# %%
# The same seed gives the same draws:
again = dist.sample((100_000,), rng=0)
print("identical:", bool(np.array_equal(samples, again)))
