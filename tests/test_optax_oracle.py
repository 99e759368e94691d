"""gdlib against optax, a second implementation written by other hands (float64).

``tests/reference.py`` was written with gdlib, by the same hands and with the
same choices; torch covers the PyTorch conventions. For the forms optax
implements, optax is the independent oracle. How optax 0.2.8 writes each
one (``optax/_src/transform.py``, ``alias.py``, ``transforms/_accumulation.py``)
and which gdlib option is the same update:

==========================================  =============================================================
gdlib                                       optax
==========================================  =============================================================
Momentum(eta_inside_velocity=False)         sgd(lr, momentum=γ): trace t = g + γ t, update −lr t
Nesterov(form="shifted",                    sgd(lr, momentum=γ, nesterov=True): update −lr (g + γ t)
         eta_inside_velocity=False)
Adagrad(eps_inside_sqrt=True, G0=G_0)       adagrad(lr, initial_accumulator_value=G_0, eps):
                                            g / sqrt(G + ε), 0 where G = 0 (gdlib's 0/0 guard: same)
Adadelta(gamma=ρ, eps, eta=lr)              adadelta(lr, rho=ρ, eps): the same Δθ, E[Δθ²] of the
                                            unscaled Δθ, θ += lr Δθ
RMSprop(eps_inside_sqrt=True | False)       rmsprop(lr, decay=γ, eps, eps_in_sqrt=True | False)
Adam()                                      adam(lr, b1, b2, eps): m̂ / (sqrt(v̂) + ε)
Adam(eps_inside_sqrt=True)                  adam(lr, b1, b2, eps=0, eps_root=ε): m̂ / sqrt(v̂ + ε)
AdaMax(eps_placement="max")                 adamax(lr, b1, b2, eps): u = max(|g| + ε, β2 u), m̂ / u
                                            (optax has no "denominator" placement: Keras's form is
                                            checked against tests/reference.py only)
Nadam(form="optax")                         nadam(lr, b1, b2, eps) = adam(..., nesterov=True):
                                            β1 m_t / (1 − β1^{t+1}) + (1 − β1) g_t / (1 − β1^t)
Nadam(form="optax", eps_inside_sqrt=True)   nadam(lr, b1, b2, eps=0, eps_root=ε)
AMSGrad(bias_correction=True,               amsgrad(lr, b1, b2, eps): v̂ = max(v̂, v_t / (1 − β2^t)),
        max_of="corrected")                 m_t / (1 − β1^t)
AMSGrad(bias_correction=False)              chain(scale_by_amsgrad(bias_correction_mu=False,
                                            bias_correction_nu=False), scale(−lr)): the paper's form
==========================================  =============================================================

Not in optax, so checked against tests/reference.py (and torch where it has
them) only: Momentum and Nesterov with η inside the velocity (the seed's
form), the "lookahead" Nesterov form, Adagrad's ε outside the root and its
lr_decay, Adam without bias correction, AdaMax's "denominator" ε, Nadam's
"seed", "dozat" and "pytorch" forms, AMSGrad's max over raw v_t with
correction (PyTorch).

optax's Adam, AdaMax and Nadam divide without a 0/0 guard, so every case
here keeps ε > 0.
"""

import numpy as np
import pytest

import gdlib
from conftest import gradient_sequence
from tolerance import EntryScale, assert_entries_close

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
jax.config.update("jax_enable_x64", True)

RTOL = 5e-14  # per entry (tolerance.py); optax orders the same arithmetic differently


def _field(name):
    """Getter for the field ``name`` of the first optax sub-state that has it
    (an alias's state is a tuple of the states of its chained transforms)."""
    def get(state):
        stack = [state]
        while stack:
            s = stack.pop(0)
            if name in getattr(s, "_fields", ()):
                return getattr(s, name)
            if isinstance(s, tuple):
                stack.extend(s)
        raise KeyError(name)
    return get


B1, B2 = 0.7, 0.95  # far from the defaults, and from each other

# (id, gdlib optimizer, optax transformation, [(gdlib state name, optax state field)])
CASES = [
    ("momentum", gdlib.Momentum(eta=0.05, gamma=0.7, eta_inside_velocity=False),
     optax.sgd(0.05, momentum=0.7), [("v", "trace")]),
    ("nesterov", gdlib.Nesterov(eta=0.05, gamma=0.7, form="shifted", eta_inside_velocity=False),
     optax.sgd(0.05, momentum=0.7, nesterov=True), [("v", "trace")]),
    ("adagrad", gdlib.Adagrad(eta=0.1, eps=1e-3, G0=0.2),
     optax.adagrad(0.1, initial_accumulator_value=0.2, eps=1e-3), [("G", "sum_of_squares")]),
    ("adagrad_G0_zero", gdlib.Adagrad(eta=0.1, eps=1e-7, G0=0.0),
     optax.adagrad(0.1, initial_accumulator_value=0.0, eps=1e-7), [("G", "sum_of_squares")]),
    ("adadelta", gdlib.Adadelta(gamma=0.8, eps=1e-4, eta=0.5),
     optax.adadelta(0.5, rho=0.8, eps=1e-4), [("Eg2", "e_g"), ("Edelta2", "e_x")]),
    ("rmsprop_inside", gdlib.RMSprop(eta=0.02, gamma=0.8, eps=1e-4, eps_inside_sqrt=True),
     optax.rmsprop(0.02, decay=0.8, eps=1e-4, eps_in_sqrt=True), [("Eg2", "nu")]),
    ("rmsprop_outside", gdlib.RMSprop(eta=0.02, gamma=0.8, eps=1e-4, eps_inside_sqrt=False),
     optax.rmsprop(0.02, decay=0.8, eps=1e-4, eps_in_sqrt=False), [("Eg2", "nu")]),
    ("adam", gdlib.Adam(eta=0.02, beta1=B1, beta2=B2, eps=1e-4),
     optax.adam(0.02, b1=B1, b2=B2, eps=1e-4), [("m", "mu"), ("v", "nu")]),
    ("adam_eps_inside", gdlib.Adam(eta=0.02, beta1=B1, beta2=B2, eps=1e-4, eps_inside_sqrt=True),
     optax.adam(0.02, b1=B1, b2=B2, eps=0.0, eps_root=1e-4), [("m", "mu"), ("v", "nu")]),
    ("adamax", gdlib.AdaMax(eta=0.02, beta1=B1, beta2=B2, eps=1e-4, eps_placement="max"),
     optax.adamax(0.02, b1=B1, b2=B2, eps=1e-4), [("m", "mu"), ("u", "nu")]),
    ("nadam", gdlib.Nadam(eta=0.02, beta1=B1, beta2=B2, eps=1e-4, form="optax"),
     optax.nadam(0.02, b1=B1, b2=B2, eps=1e-4), [("m", "mu"), ("v", "nu")]),
    ("nadam_eps_inside", gdlib.Nadam(eta=0.02, beta1=B1, beta2=B2, eps=1e-4, form="optax", eps_inside_sqrt=True),
     optax.nadam(0.02, b1=B1, b2=B2, eps=0.0, eps_root=1e-4), [("m", "mu"), ("v", "nu")]),
    ("amsgrad_corrected", gdlib.AMSGrad(eta=0.02, beta1=B1, beta2=B2, eps=1e-4, bias_correction=True,
                                        max_of="corrected"),
     optax.amsgrad(0.02, b1=B1, b2=B2, eps=1e-4), [("m", "mu"), ("v", "nu"), ("v_hat", "nu_max")]),
    ("amsgrad_corrected_eps_inside", gdlib.AMSGrad(eta=0.02, beta1=B1, beta2=B2, eps=1e-4, bias_correction=True,
                                                   max_of="corrected", eps_inside_sqrt=True),
     optax.amsgrad(0.02, b1=B1, b2=B2, eps=0.0, eps_root=1e-4), [("m", "mu"), ("v", "nu"), ("v_hat", "nu_max")]),
    ("amsgrad_paper", gdlib.AMSGrad(eta=0.02, beta1=B1, beta2=B2, eps=1e-4),
     optax.chain(optax.scale_by_amsgrad(b1=B1, b2=B2, eps=1e-4, bias_correction_mu=False,
                                        bias_correction_nu=False), optax.scale(-0.02)),
     [("m", "mu"), ("v", "nu"), ("v_hat", "nu_max")]),
]


@pytest.mark.parametrize("case_id, opt, tx, pairs", CASES, ids=[c[0] for c in CASES])
def test_matches_optax_step_for_step(case_id, opt, tx, pairs, rng):
    size, n_steps = 64, 30
    theta0 = rng.standard_normal(size)
    grads = gradient_sequence(rng, n_steps, size, np.float64)
    theta = theta0.copy()
    state = opt.init(theta)
    params = jax.numpy.asarray(theta0)
    assert params.dtype == jax.numpy.float64
    ostate = tx.init(params)
    update = jax.jit(tx.update)
    scales = {"theta": EntryScale(theta0), **{ours: EntryScale(getattr(state, ours)) for ours, _ in pairs}}
    for k, g in enumerate(grads, start=1):
        opt.step(theta, g, state)
        updates, ostate = update(jax.numpy.asarray(g), ostate, params)
        params = optax.apply_updates(params, updates)
        expected = np.asarray(params)
        assert_entries_close(theta, expected, scales["theta"].update(expected), np.float64,
                             f"theta after step {k}", rtol=RTOL)
        for ours, theirs in pairs:
            expected = np.asarray(_field(theirs)(ostate))
            assert_entries_close(getattr(state, ours), expected, scales[ours].update(expected), np.float64,
                                 f"{ours} ({theirs}) after step {k}", rtol=RTOL)
