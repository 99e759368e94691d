"""gdlib optimizer configurations paired with their NumPy reference rules."""

import numpy as np

import gdlib
import reference as ref
from conftest import gradient_sequence
from tolerance import EntryScale, assert_entries_close

# LARS and LAMB: four layers of the 96-entry θ of run_against_reference, with mixed flags
LAYER_CUTS, LAYER_DECAY, LAYER_TRUST = [0, 40, 48, 90, 96], [True, False, True, False], [True, False, True, True]
SEGMENTS = list(zip(LAYER_CUTS[:-1], LAYER_CUTS[1:], LAYER_DECAY, LAYER_TRUST))

# (id, gdlib factory, reference factory(theta), state vector names)
CASES = [
    ("sgd", lambda: gdlib.SGD(eta=0.05), lambda th: ref.SGD(th, 0.05), ()),
    ("momentum", lambda: gdlib.Momentum(eta=0.05, gamma=0.9), lambda th: ref.Momentum(th, 0.05, 0.9), ("v",)),
    ("momentum_eta_outside", lambda: gdlib.Momentum(eta=0.05, gamma=0.8, eta_inside_velocity=False),
     lambda th: ref.Momentum(th, 0.05, 0.8, eta_inside_velocity=False), ("v",)),
    ("nesterov_lookahead_update", lambda: gdlib.Nesterov(eta=0.05, gamma=0.9),
     lambda th: ref.Momentum(th, 0.05, 0.9), ("v",)),
    ("nesterov_shifted", lambda: gdlib.Nesterov(eta=0.05, gamma=0.9, form="shifted"),
     lambda th: ref.NesterovShifted(th, 0.05, 0.9), ("v",)),
    ("nesterov_shifted_eta_outside",
     lambda: gdlib.Nesterov(eta=0.05, gamma=0.7, form="shifted", eta_inside_velocity=False),
     lambda th: ref.NesterovShifted(th, 0.05, 0.7, eta_inside_velocity=False), ("v",)),
    ("adagrad", lambda: gdlib.Adagrad(eta=0.1, eps=1e-8), lambda th: ref.Adagrad(th, 0.1, 1e-8), ("G",)),
    ("adagrad_eps_outside_G0_decay",
     lambda: gdlib.Adagrad(eta=0.1, eps=1e-10, eps_inside_sqrt=False, G0=0.1, lr_decay=0.01),
     lambda th: ref.Adagrad(th, 0.1, 1e-10, eps_inside_sqrt=False, G0=0.1, lr_decay=0.01), ("G",)),
    ("adagrad_eps_zero", lambda: gdlib.Adagrad(eta=0.1, eps=0.0), lambda th: ref.Adagrad(th, 0.1, 0.0), ("G",)),
    ("adadelta", lambda: gdlib.Adadelta(gamma=0.9, eps=1e-6), lambda th: ref.Adadelta(th, 0.9, 1e-6),
     ("Eg2", "Edelta2")),
    ("adadelta_eta", lambda: gdlib.Adadelta(gamma=0.95, eps=1e-6, eta=0.5),
     lambda th: ref.Adadelta(th, 0.95, 1e-6, eta=0.5), ("Eg2", "Edelta2")),
    ("rmsprop", lambda: gdlib.RMSprop(eta=0.01, gamma=0.9, eps=1e-8), lambda th: ref.RMSprop(th, 0.01, 0.9, 1e-8),
     ("Eg2",)),
    ("rmsprop_eps_outside", lambda: gdlib.RMSprop(eta=0.01, gamma=0.99, eps=1e-8, eps_inside_sqrt=False),
     lambda th: ref.RMSprop(th, 0.01, 0.99, 1e-8, eps_inside_sqrt=False), ("Eg2",)),
    ("adam", lambda: gdlib.Adam(eta=0.01), lambda th: ref.Adam(th, 0.01, 0.9, 0.999, 1e-8), ("m", "v")),
    ("adam_eps_inside", lambda: gdlib.Adam(eta=0.01, eps_inside_sqrt=True),
     lambda th: ref.Adam(th, 0.01, 0.9, 0.999, 1e-8, eps_inside_sqrt=True), ("m", "v")),
    ("adam_no_bias_correction", lambda: gdlib.Adam(eta=0.01, bias_correction=False),
     lambda th: ref.Adam(th, 0.01, 0.9, 0.999, 1e-8, bias_correction=False), ("m", "v")),
    ("adam_eps_zero", lambda: gdlib.Adam(eta=0.01, eps=0.0), lambda th: ref.Adam(th, 0.01, 0.9, 0.999, 0.0),
     ("m", "v")),
    ("adamax", lambda: gdlib.AdaMax(eta=0.002), lambda th: ref.AdaMax(th, 0.002, 0.9, 0.999), ("m", "u")),
    ("adamax_eps_max", lambda: gdlib.AdaMax(eta=0.002, eps=1e-8, eps_placement="max"),
     lambda th: ref.AdaMax(th, 0.002, 0.9, 0.999, 1e-8, "max"), ("m", "u")),
    ("adamax_eps_denominator", lambda: gdlib.AdaMax(eta=0.002, eps=1e-7, eps_placement="denominator"),
     lambda th: ref.AdaMax(th, 0.002, 0.9, 0.999, 1e-7, "denominator"), ("m", "u")),
    ("nadam_seed", lambda: gdlib.Nadam(eta=0.002), lambda th: ref.Nadam(th, 0.002, 0.9, 0.999, 1e-8), ("m", "v")),
    ("nadam_dozat", lambda: gdlib.Nadam(eta=0.002, form="dozat"),
     lambda th: ref.Nadam(th, 0.002, 0.9, 0.999, 1e-8, form="dozat"), ("m", "v")),
    ("nadam_pytorch", lambda: gdlib.Nadam(eta=0.002, form="pytorch", momentum_decay=0.01),
     lambda th: ref.Nadam(th, 0.002, 0.9, 0.999, 1e-8, form="pytorch", psi=0.01), ("m", "v")),
    ("nadam_optax", lambda: gdlib.Nadam(eta=0.002, form="optax"),
     lambda th: ref.Nadam(th, 0.002, 0.9, 0.999, 1e-8, form="optax"), ("m", "v")),
    ("amsgrad", lambda: gdlib.AMSGrad(eta=0.01), lambda th: ref.AMSGrad(th, 0.01, 0.9, 0.999, 1e-8),
     ("m", "v", "v_hat")),
    ("amsgrad_corrected_raw", lambda: gdlib.AMSGrad(eta=0.01, bias_correction=True, max_of="raw"),
     lambda th: ref.AMSGrad(th, 0.01, 0.9, 0.999, 1e-8, True, "raw"), ("m", "v", "v_hat")),
    ("amsgrad_corrected_max_of_corrected", lambda: gdlib.AMSGrad(eta=0.01, bias_correction=True, max_of="corrected"),
     lambda th: ref.AMSGrad(th, 0.01, 0.9, 0.999, 1e-8, True, "corrected"), ("m", "v", "v_hat")),

    # Every hyperparameter away from its default, and away from the values above
    # (β1 and β2 far from 0.9/0.999 and far from each other, so that swapping or
    # ignoring one of them shows; ε large enough that its placement shows).
    ("sgd_eta", lambda: gdlib.SGD(eta=0.15), lambda th: ref.SGD(th, 0.15), ()),
    ("momentum_gamma", lambda: gdlib.Momentum(eta=0.2, gamma=0.5), lambda th: ref.Momentum(th, 0.2, 0.5), ("v",)),
    ("nesterov_lookahead_eta_outside", lambda: gdlib.Nesterov(eta=0.1, gamma=0.6, eta_inside_velocity=False),
     lambda th: ref.Momentum(th, 0.1, 0.6, eta_inside_velocity=False), ("v",)),
    ("adagrad_large_eps_inside", lambda: gdlib.Adagrad(eta=0.3, eps=1e-3, G0=0.5),
     lambda th: ref.Adagrad(th, 0.3, 1e-3, G0=0.5), ("G",)),
    ("adagrad_large_eps_outside", lambda: gdlib.Adagrad(eta=0.3, eps=1e-3, eps_inside_sqrt=False, lr_decay=0.2),
     lambda th: ref.Adagrad(th, 0.3, 1e-3, eps_inside_sqrt=False, lr_decay=0.2), ("G",)),
    ("adadelta_all", lambda: gdlib.Adadelta(gamma=0.5, eps=1e-3, eta=0.7),
     lambda th: ref.Adadelta(th, 0.5, 1e-3, eta=0.7), ("Eg2", "Edelta2")),
    ("rmsprop_all", lambda: gdlib.RMSprop(eta=0.05, gamma=0.6, eps=1e-3),
     lambda th: ref.RMSprop(th, 0.05, 0.6, 1e-3), ("Eg2",)),
    ("rmsprop_all_eps_outside", lambda: gdlib.RMSprop(eta=0.05, gamma=0.6, eps=1e-3, eps_inside_sqrt=False),
     lambda th: ref.RMSprop(th, 0.05, 0.6, 1e-3, eps_inside_sqrt=False), ("Eg2",)),
    ("adam_betas", lambda: gdlib.Adam(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4),
     lambda th: ref.Adam(th, 0.05, 0.6, 0.95, 1e-4), ("m", "v")),
    ("adam_betas_inside_uncorrected",
     lambda: gdlib.Adam(eta=0.05, beta1=0.3, beta2=0.8, eps=1e-3, eps_inside_sqrt=True, bias_correction=False),
     lambda th: ref.Adam(th, 0.05, 0.3, 0.8, 1e-3, eps_inside_sqrt=True, bias_correction=False), ("m", "v")),
    ("adamax_betas_max", lambda: gdlib.AdaMax(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-3),
     lambda th: ref.AdaMax(th, 0.05, 0.6, 0.95, 1e-3, "max"), ("m", "u")),
    ("adamax_betas_denominator",
     lambda: gdlib.AdaMax(eta=0.05, beta1=0.3, beta2=0.8, eps=1e-3, eps_placement="denominator"),
     lambda th: ref.AdaMax(th, 0.05, 0.3, 0.8, 1e-3, "denominator"), ("m", "u")),
    *[(f"nadam_{form}_all",
       (lambda form=form: gdlib.Nadam(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4, form=form, momentum_decay=0.3)),
       (lambda th, form=form: ref.Nadam(th, 0.05, 0.6, 0.95, 1e-4, form=form, psi=0.3)), ("m", "v"))
      for form in ("seed", "dozat", "pytorch", "optax")],
    *[(f"nadam_{form}_eps_inside",
       (lambda form=form: gdlib.Nadam(eta=0.05, beta1=0.3, beta2=0.8, eps=1e-3, form=form, momentum_decay=0.1,
                                      eps_inside_sqrt=True)),
       (lambda th, form=form: ref.Nadam(th, 0.05, 0.3, 0.8, 1e-3, form=form, psi=0.1, eps_inside_sqrt=True)),
       ("m", "v"))
      for form in ("seed", "dozat", "pytorch", "optax")],
    *[(f"amsgrad_betas_{correct}_{max_of}",
       (lambda correct=correct, max_of=max_of: gdlib.AMSGrad(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4,
                                                              bias_correction=correct, max_of=max_of)),
       (lambda th, correct=correct, max_of=max_of: ref.AMSGrad(th, 0.05, 0.6, 0.95, 1e-4, correct, max_of)),
       ("m", "v", "v_hat"))
      for correct, max_of in ((False, "raw"), (True, "raw"), (True, "corrected"))],
    ("amsgrad_eps_inside", lambda: gdlib.AMSGrad(eta=0.05, beta1=0.3, beta2=0.8, eps=1e-3, eps_inside_sqrt=True,
                                                 bias_correction=True, max_of="corrected"),
     lambda th: ref.AMSGrad(th, 0.05, 0.3, 0.8, 1e-3, True, "corrected", eps_inside_sqrt=True), ("m", "v", "v_hat")),
    ("amsgrad_eps_inside_raw", lambda: gdlib.AMSGrad(eta=0.05, beta1=0.3, beta2=0.8, eps=1e-3, eps_inside_sqrt=True,
                                                     bias_correction=True, max_of="raw"),
     lambda th: ref.AMSGrad(th, 0.05, 0.3, 0.8, 1e-3, True, "raw", eps_inside_sqrt=True), ("m", "v", "v_hat")),
    ("adamw", lambda: gdlib.AdamW(eta=0.01), lambda th: ref.AdamW(th, 0.01, 0.9, 0.999, 1e-8, 0.01), ("m", "v")),
    ("adamw_all", lambda: gdlib.AdamW(eta=0.05, beta1=0.6, beta2=0.95, eps=1e-4, weight_decay=0.3),
     lambda th: ref.AdamW(th, 0.05, 0.6, 0.95, 1e-4, 0.3), ("m", "v")),
    ("adamw_no_decay", lambda: gdlib.AdamW(eta=0.01, weight_decay=0.0),
     lambda th: ref.Adam(th, 0.01, 0.9, 0.999, 1e-8), ("m", "v")),
    ("lars", lambda: gdlib.LARS(), lambda th: ref.LARS(th, 1.0, 0.9), ("v",)),
    *[(f"lars_all_{form}_{'nesterov' if nesterov else 'heavy_ball'}",
       (lambda form=form, nesterov=nesterov: gdlib.LARS(
           eta=2.0, gamma=0.8, weight_decay=0.05, trust_coefficient=0.02, eps=1e-3, nesterov=nesterov, form=form,
           layers=gdlib.Layers(LAYER_CUTS, decay=LAYER_DECAY, trust=LAYER_TRUST))),
       (lambda th, form=form, nesterov=nesterov: ref.LARS(th, 2.0, 0.8, 0.05, 0.02, 1e-3, nesterov, form, SEGMENTS)),
       ("v",))
      for form in ("paper", "optax") for nesterov in (False, True)],
    ("lamb", lambda: gdlib.LAMB(), lambda th: ref.LAMB(th, 0.001), ("m", "v")),
    *[(f"lamb_all_bias_correction_{correct}",
       (lambda correct=correct: gdlib.LAMB(eta=0.02, beta1=0.6, beta2=0.95, eps=1e-4, weight_decay=0.1,
                                           bias_correction=correct,
                                           layers=gdlib.Layers(LAYER_CUTS, decay=LAYER_DECAY, trust=LAYER_TRUST))),
       (lambda th, correct=correct: ref.LAMB(th, 0.02, 0.6, 0.95, 1e-4, 0.1, correct, SEGMENTS)),
       ("m", "v"))
      for correct in (True, False)],
]


def run_against_reference(make, make_ref, names, dtype, rng, size=96, n_steps=40):
    """Run gdlib's ``make()`` and the reference side by side on stress
    gradients; after every step, θ and every state vector must equal the
    float64 reference entry by entry (see ``tolerance.py``). Returns the
    optimizer, θ and the state at the end."""
    theta0 = rng.standard_normal(size).astype(dtype)
    grads = gradient_sequence(rng, n_steps, size, dtype)
    opt = make()
    theta = theta0.copy()
    state = opt.init(theta)
    reference = make_ref(theta0.astype(np.float64))
    scales = {name: EntryScale(getattr(reference, name)) for name in ("theta",) + names}
    for k, g in enumerate(grads, start=1):
        opt.step(theta, g, state)
        reference.step(g.astype(np.float64))
        assert state.t == reference.t == k
        assert theta.dtype == dtype and all(getattr(state, n).dtype == dtype for n in names)
        for name in ("theta",) + names:
            expected = getattr(reference, name)
            actual = theta if name == "theta" else getattr(state, name)
            assert_entries_close(actual, expected, scales[name].update(expected), dtype, f"{name} after step {k}")
    assert np.all(np.isfinite(theta))
    return opt, theta, state
