"""Length-controlled win rate after AlpacaEval 2 (Dubois et al. 2024, arXiv:2404.04475).

A logistic GLM predicts the preference from ``tanh(delta / std(delta))``, where delta is the
character-length difference of the two responses and std its sample standard deviation
(alpaca_eval ``metrics/glm_winrate.py`` standardises the same way, without centring). The
length-controlled rate is the model's prediction at zero length difference, i.e.
``sigmoid(intercept)``. Ties are soft targets of 0.5, as in AlpacaEval. AlpacaEval also has
an instruction-difficulty term and an L1 penalty chosen by cross-validation; here the only
covariate is length, and a small ridge on the slope keeps it finite when length alone
separates the outcomes (the ``longest`` judge does exactly that).
"""
from __future__ import annotations

import numpy as np

from core.audit.bootstrap import check_confidence, normal_quantile


def expit(x):
    """The logistic function, written with tanh so it neither overflows nor needs scipy."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def _objective(beta, x, y, ridge):
    eta = beta[0] + beta[1] * x
    # soft-target binomial negative log-likelihood: sum log(1 + e^eta) - y * eta
    return float(np.logaddexp(0.0, eta).sum() - (y * eta).sum() + 0.5 * ridge * beta[1] ** 2)


def fit_logistic_1d(x: np.ndarray, y: np.ndarray, *, ridge: float = 0.01,
                    max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Intercept and slope of logit P(y) = b0 + b1 x for targets y in [0, 1], by damped Newton.

    Returns (beta, covariance) where covariance is the inverse penalised Fisher information.
    """
    beta = np.zeros(2)
    current = _objective(beta, x, y, ridge)
    for _ in range(max_iter):
        mu = expit(beta[0] + beta[1] * x)
        w = mu * (1 - mu)
        wx = w * x
        hessian = np.array([[w.sum(), wx.sum()], [wx.sum(), (wx * x).sum() + ridge]])
        r = y - mu
        gradient = np.array([r.sum(), (r * x).sum() - ridge * beta[1]])
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        scale = 1.0
        trial = _objective(beta + step, x, y, ridge)
        while trial > current + 1e-12 and scale > 1e-6:
            scale /= 2
            trial = _objective(beta + scale * step, x, y, ridge)
        beta, current = beta + scale * step, trial
        if np.abs(scale * step).max() < 1e-9:
            break
    mu = expit(beta[0] + beta[1] * x)
    w = mu * (1 - mu)
    wx = w * x
    information = np.array([[w.sum(), wx.sum()], [wx.sum(), (wx * x).sum() + ridge]])
    return beta, np.linalg.pinv(information)


def length_controlled_win_rate(wins, length_diff, *, ridge: float = 0.01, confidence: float = 0.95) -> dict:
    """Win rate predicted at zero length difference by AlpacaEval 2's length GLM.

    ``wins`` in [0, 1] per comparison (1 win, 0.5 tie, 0 loss) for the side whose length
    minus the other's is ``length_diff`` (characters). Keys: n, win_rate (the raw mean),
    length_controlled (in [0, 1]), length_controlled_ci95 (Wald interval on the logit
    scale), slope (the weight on tanh of the standardised difference; > 0 means longer wins
    more), std_length_diff. Raises ValueError on a win outside [0, 1] or mismatched lengths.
    """
    confidence = check_confidence(confidence)
    y = np.asarray(wins, dtype=np.float64)
    delta = np.asarray(length_diff, dtype=np.float64)
    if y.shape != delta.shape:
        raise ValueError(f"wins and length_diff differ in shape: {y.shape} vs {delta.shape}")
    if np.any((y < 0) | (y > 1)) or not np.all(np.isfinite(y)):
        raise ValueError(f"wins must be in [0, 1]; got {y[~((y >= 0) & (y <= 1))][:1].tolist()}")
    nan = float("nan")
    if y.size == 0:
        return {"n": 0, "win_rate": nan, "length_controlled": nan, "length_controlled_ci95": [nan, nan],
                "slope": nan, "std_length_diff": nan}
    spread = float(np.std(delta, ddof=1)) if y.size > 1 else 0.0
    x = np.tanh(delta / spread) if spread > 0 else np.zeros_like(delta)
    beta, cov = fit_logistic_1d(x, y, ridge=ridge)
    half = normal_quantile(0.5 + confidence / 2) * np.sqrt(max(cov[0, 0], 0.0))
    return {
        "n": int(y.size),
        "win_rate": float(y.mean()),
        "length_controlled": float(expit(beta[0])),
        "length_controlled_ci95": [float(expit(beta[0] - half)), float(expit(beta[0] + half))],
        "slope": float(beta[1]),
        "std_length_diff": spread,
    }
