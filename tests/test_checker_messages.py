"""Small messages users met: what a vjp returned instead of (grads, state0_grads), where a
gradient-check point is not finite, and how to reach the nn.LSTM inside a wrapper module."""

import numpy as np
import pytest

import numeric
from derivations import cells
from numeric import checks, interop

MODEL = numeric.Model(cells.gru("torch"))


def _point():
    rng = np.random.default_rng(0)
    params = MODEL.init(n=3, m=2, seed=0)
    return (
        params,
        rng.normal(size=(4, 2, 2)),
        {"h": np.zeros((2, 3))},
        {"h": rng.normal(size=(4, 2, 3))},
    )


def test_a_vjp_returning_the_gradients_alone_is_named_as_a_dict_with_its_keys():
    def grads_only(params, xs, state0, cotangents):
        return MODEL.vjp(params, xs, state0, cotangents)[0]

    with pytest.raises(ValueError) as error:
        checks.check_vjp(MODEL, grads_only, *_point())
    message = str(error.value)
    assert "got a dict with keys ['W_hn', 'W_hr'" in message
    assert "(the gradients alone?)" in message
    assert "length" not in message and "()" not in message


def test_a_vjp_returning_three_things_says_how_many():
    with pytest.raises(ValueError, match=r"got a tuple of length 3$"):
        checks.check_vjp(MODEL, lambda *a: (1, 2, 3), *_point())


def test_a_point_that_is_not_finite_says_where():
    with pytest.raises(
        ValueError, match=r"point\['w'\] must be finite: point\['w'\]\[1, 0\] is -inf"
    ):
        checks.check_gradient(lambda p: p["w"].sum(), {"w": [[1.0, 2.0], [-np.inf, 0]]}, {"w": 0})


class _Fake:
    """A duck-typed torch module: a class name, state_dict() and named_modules()."""

    def __init__(self, children=()):
        self.children = dict(children)

    def state_dict(self):
        return {}

    def named_modules(self):
        yield "", self
        yield from self.children.items()


def test_from_torch_of_a_wrapper_module_says_which_attribute_holds_the_lstm():
    LSTM = type("LSTM", (_Fake,), {})
    Wrapper = type("Wrapper", (_Fake,), {})
    with pytest.raises(ValueError, match=r"got Wrapper \(a wrapper: pass the recurrent layer "
                       r"inside it, module\.lstm \(LSTM\)\)"):  # fmt: skip
        interop.from_torch(Wrapper({"lstm": LSTM(), "head": _Fake()}))
    with pytest.raises(ValueError, match=r"got _Fake; "):  # nothing recurrent inside: no hint
        interop.from_torch(_Fake({"head": _Fake()}))
