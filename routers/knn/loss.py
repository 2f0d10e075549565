"""CSCR's cost-spectrum InfoNCE (Shirkavand et al., "Cost-Aware Contrastive Routing for
LLMs", 2025, Eq. 8), on a batch of projected prompts and fixed model descriptors.

* Models are split into `n_bands` cost-percentile bands (default √M, as the paper's code).
* For band b, the positives of a prompt are the models of that band that answered it.
* The band's temperature grows with its cost: τ_b = τ_min + α · mean normalised cost of b,
  so expensive bands pull more softly and cheap correct models win the tug of war.
* Every logit carries a cost penalty: ℓ_m = (s_m − γ·c_m) / τ_b.

loss = mean over bands of  −log( Σ_{m ∈ pos_b} e^{ℓ_m} / Σ_m e^{ℓ_m} )  over prompts with a
positive in the band. The paper's reference code leaves the numerator unpenalised; we
penalise both sides so each band term is a proper softmax over cost-penalised logits.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import torch


def cost_bands(cost_norm: npt.NDArray[np.float64], n_bands: int | None = None) -> list[list[int]]:
    """Model indices per cost-percentile band, cheapest band first; empty bands dropped."""
    m = len(cost_norm)
    n = n_bands or max(1, round(math.sqrt(m)))
    edges = np.quantile(cost_norm, np.linspace(0.0, 1.0, n + 1))
    band_of = np.clip(np.searchsorted(edges[1:-1], cost_norm, side="right"), 0, n - 1)
    bands = [[j for j in range(m) if band_of[j] == b] for b in range(n)]
    return [b for b in bands if b]


def cost_spectrum_info_nce(
    z: torch.Tensor,
    descriptors: torch.Tensor,
    labels: torch.Tensor,
    cost_norm: torch.Tensor,
    bands: list[list[int]],
    tau_min: float = 0.05,
    alpha: float = 0.25,
    gamma: float = 0.2,
) -> torch.Tensor:
    """The loss for prompts `z` (B, d), descriptors (M, d), 0/1 `labels` (B, M; NaN unknown)."""
    sim = z @ descriptors.T
    penalised = sim - gamma * cost_norm.unsqueeze(0)
    correct = torch.nan_to_num(labels, nan=0.0) > 0.5
    total = z.new_zeros(())
    used = 0
    for band in bands:
        in_band = torch.zeros(labels.shape[1], dtype=torch.bool)
        in_band[band] = True
        positives = correct & in_band.unsqueeze(0)
        rows = positives.any(dim=1)
        if not bool(rows.any()):
            continue
        tau = tau_min + alpha * float(cost_norm[band].mean())
        logits = penalised[rows] / tau
        pos_logits = logits.masked_fill(~positives[rows], float("-inf"))
        total = total + (torch.logsumexp(logits, 1) - torch.logsumexp(pos_logits, 1)).mean()
        used += 1
    return total / max(used, 1)
