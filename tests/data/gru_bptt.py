"""A user's hand-written BPTT for torch's GRU (``derivations.cells.gru("torch")``), with bugs
to plant: what ``bptt-check check tests/data/gru_bptt.py:vjp --cell gru`` is run on.

r_t = σ(x W_ir^T + h W_hr^T + b_r), z_t = σ(x W_iz^T + h W_hz^T + b_z),
n_t = tanh(x W_in^T + b_in + r_t ⊙ (h W_hn^T + b_hn)), h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1};
rows are samples (xs (T, B, m), h (B, n)).
"""

import numpy as np


def _sigma(a):
    return 1 / (1 + np.exp(-a))


def make(bug=None):
    """``vjp(params, xs, state0, cotangents)``; ``bug``: None (correct), ``"update_gate"``
    (dz off by the sign of its h_{t−1} term), ``"pull_back"`` (the recurrent pull-back through
    W_hn forgets r_t, the shares are right), ``"last_step"`` (step T left out of the sum)."""

    def vjp(params, xs, state0, cotangents):
        p = params
        hs, cache = [state0["h"]], []
        for x in xs:
            h = hs[-1]
            r = _sigma(x @ p["W_ir"].T + h @ p["W_hr"].T + p["b_r"])
            z = _sigma(x @ p["W_iz"].T + h @ p["W_hz"].T + p["b_z"])
            a_hn = h @ p["W_hn"].T + p["b_hn"]
            nc = np.tanh(x @ p["W_in"].T + p["b_in"] + r * a_hn)
            hs.append((1 - z) * nc + z * h)
            cache.append((r, z, a_hn, nc))
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        dh = np.zeros_like(hs[0])
        T = len(xs)
        for t in reversed(range(T)):
            x, h = xs[t], hs[t]
            r, z, a_hn, nc = cache[t]
            dh = dh + cotangents["h"][t]
            dnc = dh * (1 - z)
            dz = dh * ((nc - h) if bug == "update_gate" else (h - nc))
            da_n = dnc * (1 - nc**2)
            dr = da_n * a_hn
            da_hn = da_n * r
            da_r = dr * r * (1 - r)
            da_z = dz * z * (1 - z)
            if bug != "last_step" or t != T - 1:
                for a, wi, wh, b in (
                    (da_r, "W_ir", "W_hr", "b_r"),
                    (da_z, "W_iz", "W_hz", "b_z"),
                ):
                    grads[wi] += a.T @ x
                    grads[wh] += a.T @ h
                    grads[b] += a.sum(axis=0)
                grads["W_in"] += da_n.T @ x
                grads["b_in"] += da_n.sum(axis=0)
                grads["W_hn"] += da_hn.T @ h
                grads["b_hn"] += da_hn.sum(axis=0)
            back_n = da_n if bug == "pull_back" else da_hn  # the bug: r_t forgotten
            dh = dh * z + da_r @ p["W_hr"] + da_z @ p["W_hz"] + back_n @ p["W_hn"]
        return grads, {"h": dh}

    return vjp


vjp = make()
buggy_vjp = make("update_gate")
