"""A harness that cannot be fooled: each check is *sound* — it passes the right gradient and
rejects wrong ones at several scales — and stops being sound when a mutant is planted in it
(a lost step-size factor, a comparison against the wrong quantity, a skipped per-step
comparison); a mutant planted in the engine's time loop is rejected by every check.

Mutants are made from the source of the real function with one edit, compiled in its module;
the real functions and modules are never changed in place (a module attribute is replaced only
through monkeypatch, which restores it), so the tests after these see the checks as they are.
The tolerance mutants are judged against the properties of tests/test_check_harness.py."""

import __future__

import inspect
import textwrap

import pytest
import test_check_harness as harness
from strategies import seeded_rnn

from numeric import _engine, checks, rnn
from numeric.checks import references, steps, tolerance, vjp

SCALES = (0.1, 1.0, 3.0)  # of the recurrent weights W: vanishing, ordinary, saturating


def mutant(function, old, new):
    """``function`` compiled again from its source with ``old`` replaced by ``new``."""
    source = textwrap.dedent(inspect.getsource(function))
    assert source.count(old) == 1, f"{old!r} is not in {function.__name__} exactly once"
    code = compile(
        source.replace(old, new),
        inspect.getsourcefile(function),
        "exec",
        flags=__future__.annotations.compiler_flag,
        dont_inherit=True,
    )
    namespace = {}
    exec(code, function.__globals__, namespace)  # noqa: S102 - the project's own source
    return namespace[function.__name__]


def problems():
    out = []
    for scale in SCALES:
        case = seeded_rnn(n=2, m=1, k=2, T=4, B=1, seed=5, scale=scale)
        out.append(rnn.problem(case.params, case.xs, case.ys, case.s0))
    return out


@pytest.fixture(scope="module")
def points():
    return problems()


def wrongs(problem):
    """A gradient with step 1's share of W dropped, and one with W off by 1e-6 relative."""
    bptt = problem.bptt
    dropped = dict(problem.gradient, W=problem.gradient["W"] - bptt.contributions["W"][0])
    shares = dict(bptt.contributions, W=bptt.contributions["W"].copy())
    shares["W"][0] = 0
    off = dict(problem.gradient, W=problem.gradient["W"] * (1 + 1e-6))
    off_shares = dict(bptt.contributions, W=bptt.contributions["W"] * (1 + 1e-6))
    return [(dropped, shares), (off, off_shares)]


def run(check, problem, gradient=None, contributions=None, per_step=False):
    if per_step:
        return check(problem, contributions=contributions)
    return check(problem, gradient)


def sound(check, points, per_step=None):
    """Passes the derived gradient and rejects both wrong ones, at every scale."""
    per_step = check is checks.per_step if per_step is None else per_step
    return all(
        run(check, p, per_step=per_step).passed
        and not any(run(check, p, *w, per_step=per_step).passed for w in wrongs(p))
        for p in points
    )


CHECKS = [
    checks.complex_step,
    checks.central_difference,
    checks.direction,
    checks.taylor,
    checks.per_step,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_every_check_is_sound_at_every_scale(check, points):
    assert sound(check, points)


MUTANTS = {
    "complex step loses 1/h": (
        references.complex_step,
        "np.imag(problem.loss(moved)) / h",
        "np.imag(problem.loss(moved))",
    ),
    "central difference loses the 2 of 2h": (
        references.central_difference,
        "return (up - down) / (2 * step)",
        "return (up - down) / step",
    ),
    "direction compares the gradient with itself": (
        references.direction,
        'row("direction", "all", None, None, analytic, reference, terms, why)',
        'row("direction", "all", None, None, analytic, analytic, terms, why)',
    ),
    "taylor loses h in the linear term": (
        references._taylor_mp,
        "- L0 - h * slope",
        "- L0 - slope",
    ),
    "per-step skips the shares": (
        steps.per_step,
        "for name, share in shares.items():",
        "for name, share in list(shares.items())[:0]:",
    ),
}


@pytest.mark.parametrize("planted", MUTANTS.values(), ids=MUTANTS.keys())
def test_a_mutant_planted_in_a_check_makes_it_unsound(planted, points, monkeypatch):
    function, old, new = planted
    mutated = mutant(function, old, new)
    if function is references._taylor_mp:  # reached through taylor; restored by monkeypatch
        monkeypatch.setattr(references, "_taylor_mp", mutated)
        mutated = references.taylor
    # nothing of the real functions is changed in place (not even a __name__): the tests
    # that run after this one see the checks as they are
    assert not sound(mutated, points, per_step=function is steps.per_step)


ENGINE_MUTANTS = {
    "the direct cotangent is dropped once a carry exists": (
        "np.add(cotangents[new][t], carry[prev], out=seed)",
        "np.copyto(seed, carry[prev])",
    ),
    "no recurrence: the carry is zeroed (truncated BPTT)": (
        "carry = {prev: buffers[name] for name, prev in work.adjoints_in}",
        "carry = {prev: 0 * buffers[name] for name, prev in work.adjoints_in}",
    ),
    "off by one: the last step seeds with the previous step's cotangent": (
        "seed = cotangents[new][t] if new in cotangents else zeros[new]",
        "seed = cotangents[new][t - 1] if new in cotangents else zeros[new]",
    ),
}


@pytest.mark.parametrize("planted", ENGINE_MUTANTS.values(), ids=ENGINE_MUTANTS.keys())
def test_a_mutant_in_the_engine_time_loop_is_rejected_by_every_check(planted, monkeypatch):
    old, new = planted
    monkeypatch.setattr(
        _engine.Plan, "_backward_step", mutant(_engine.Plan._backward_step, old, new)
    )
    for problem in problems():
        for check in CHECKS:
            assert not check(problem), f"{check.__name__} accepted a mutant engine"


def test_one_adjoint_buffer_set_for_every_step_is_caught_on_the_swap_cell(monkeypatch):
    """The engine alternates two buffer sets (step t reads what step t+1 wrote); on a cell
    whose states swap a single set overwrites an adjoint before it is read."""
    monkeypatch.setattr(
        _engine.Plan,
        "_backward_step",
        mutant(_engine.Plan._backward_step, "own = work.buffers2[t % 2]", "own = work.buffers2[0]"),
    )
    assert not harness.swap_vjp_matches_complex_step_and_mpmath(3)


# ---- faults in the checks' tolerances, against the properties of tests/test_check_harness.py

TOLERANCE_MUTANTS = {
    "complex step's default rtol 1000x looser": (
        references.complex_step,
        "r = rtol_for(rtol, 1e-12, eps if precision is None else EPS)",
        "r = rtol_for(rtol, 1e-9, eps if precision is None else EPS)",
        lambda mutated: harness.complex_step_rejects_1e_10_off(mutated),
    ),
    "per-step shares at the global scale": (
        steps.per_step,
        "relative = r * np.abs(share[t]).max(initial=0)",
        "relative = r * np.abs(share).max(initial=0)",
        lambda mutated: harness.per_step_sees_a_small_steps_error(mutated),
    ),
    "check_vjp's shares at the global scale": (
        vjp.check_vjp,
        "scale = r * np.abs(share[t - 1]).max(initial=0)",
        "scale = r * np.abs(share).max(initial=0)",
        lambda mutated: harness.check_vjp_sees_a_small_steps_error(mutated),
    ),
}


@pytest.mark.parametrize("planted", TOLERANCE_MUTANTS.values(), ids=TOLERANCE_MUTANTS.keys())
def test_a_mutant_in_a_tolerance_breaks_its_property(planted):
    function, old, new, holds = planted
    assert holds(function)  # the real check has the property
    assert not holds(mutant(function, old, new))


def test_the_floor_without_its_L_terms_breaks_its_property(monkeypatch):
    assert harness.floor_accepts_a_gradient_tiny_against_L()
    dropped = mutant(
        tolerance.floor,
        "return FLOOR * EPS * abs(loss) + OWN * eps * (abs(loss) + magnitude)",
        "return OWN * eps * magnitude",
    )
    monkeypatch.setattr(references, "floor", dropped)  # restored after the test
    assert not harness.floor_accepts_a_gradient_tiny_against_L()


def test_check_vjp_naming_a_missing_last_step_is_needed():
    """The GRU with its last step left out (tests/test_check_cost.py) is named as such only
    because check_vjp labels step T: keyed on T + 1, the label is gone."""
    from test_check_cost import GRU, MODEL, _point

    point = _point(3, 2, 4, 2)
    label = "the last step's term is missing"
    assert label in checks.check_vjp(MODEL, GRU.make("last_step"), *point).summary
    mutated = mutant(
        vjp.check_vjp,
        'T: " (the last step\'s term is missing)"',
        'T + 1: " (the last step\'s term is missing)"',
    )
    assert label not in mutated(MODEL, GRU.make("last_step"), *point).summary


def test_classify_with_the_vanishing_thresholds_sign_flipped_is_caught(monkeypatch):
    from numeric.lyapunov import Spectrum

    flipped = mutant(
        Spectrum.classify, 'labels[high < -tol] = "vanishes"', 'labels[high < tol] = "vanishes"'
    )
    spectrum = harness._spectrum(-0.0005, -0.0025)  # below +tol, crossing -tol
    assert spectrum.classify(tol=1e-3)[0] == "undetermined"
    monkeypatch.setattr(Spectrum, "classify", flipped)
    assert spectrum.classify(tol=1e-3)[0] != "undetermined"


def test_a_readout_of_the_first_state_is_caught(monkeypatch):
    import numeric

    reads_first = mutant(
        numeric.Model.__init__,
        "self.reads = state_names[-1] if reads is None else reads",
        "self.reads = state_names[0] if reads is None else reads",
    )
    monkeypatch.setattr(numeric.Model, "__init__", reads_first)
    with pytest.raises(AssertionError):
        harness.test_an_lstm_models_readout_reads_h_not_C()
