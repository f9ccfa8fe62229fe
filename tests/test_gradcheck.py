"""Finite differences and the gradient check."""


import numpy as np
import pytest

from course.gradcheck import check_gradient, numerical_gradient, numerical_vjp
from tests.test_testing import numbers_in


def test_numerical_gradient_of_a_quadratic_is_exact_to_rounding():
    x = np.random.default_rng(0).standard_normal((3, 4))
    grad = numerical_gradient(lambda v: float(np.sum(v**2)), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-7, atol=1e-9)


def test_numerical_gradient_restores_the_point():
    x = np.random.default_rng(1).standard_normal(5)
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_restores_the_point_when_f_raises():
    x = np.ones(3)

    def explode(v):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        numerical_gradient(explode, x)
    np.testing.assert_array_equal(x, np.ones(3))


def test_numerical_vjp_matches_the_jacobian_product():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 3))
    x = rng.standard_normal((3, 2))
    dout = rng.standard_normal((4, 2))
    # f(x) = a @ x has d(sum(dout * f))/dx = a.T @ dout
    np.testing.assert_allclose(numerical_vjp(lambda v: a @ v, x, dout), a.T @ dout, rtol=1e-7)


def test_numerical_vjp_rejects_a_dout_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        numerical_vjp(lambda v: v * 2, np.ones(3), np.ones(4))


@pytest.mark.parametrize("bad", [np.ones(3, dtype=np.float32), np.ones(3, dtype=int), [1.0, 2.0]])
def test_finite_differences_need_float64_arrays(bad):
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: 0.0, bad)


def test_check_gradient_accepts_a_right_gradient():
    x = np.random.default_rng(3).standard_normal((2, 3))
    dout = np.random.default_rng(4).standard_normal((2, 3))
    check_gradient(np.tanh, x, dout * (1 - np.tanh(x) ** 2), dout=dout, name="dx of tanh")
    check_gradient(lambda v: float(np.sum(v**3)), x, 3 * x**2, name="grad")


def test_check_gradient_names_the_array_and_the_worst_index_without_the_answer():
    x = np.array([[0.5, -1.0, 2.0]])
    analytic = 2 * x
    analytic[0, 2] += 1.0
    with pytest.raises(AssertionError) as error:
        check_gradient(lambda v: float(np.sum(v**2)), x, analytic, name="dW of layer")
    message = str(error.value)
    assert message.startswith("dW of layer disagrees with finite differences: it differs")
    assert "index (0, 2)" in message
    assert "value 5, relative error 0.25" in message
    # the numerical value at the wrong entry, 4.0, appears nowhere in the message
    assert all(abs(number - 4.0) > 1e-6 for number in numbers_in(message)), message


def test_check_gradient_names_an_exact_factor_and_explains_it_with_the_batch_size():
    x = np.random.default_rng(5).standard_normal((4, 3))
    # the mean over a batch of 4 has gradient 2 x / 4; this one divides by 4 once more
    with pytest.raises(AssertionError) as error:
        check_gradient(lambda v: float(np.sum(v**2)) / 4, x, 2 * x / 16, name="dx", batch_size=4)
    message = str(error.value)
    assert "dx disagrees with finite differences: it is exactly 1/4 times the right value" in message
    assert "dividing by N twice" in message


def test_check_gradient_names_the_opposite_sign():
    x = np.random.default_rng(6).standard_normal(5)
    with pytest.raises(AssertionError, match="opposite sign"):
        check_gradient(lambda v: float(np.sum(np.sin(v))), x, -np.cos(x), name="dx")


def test_check_gradient_passes_named_regions_on():
    x = np.array([1.0, 2.0, 3.0])
    analytic = 2 * x
    analytic[1] = 0.0
    region = np.array([False, True, False])
    with pytest.raises(AssertionError, match="is 0 only where x ties, and right elsewhere"):
        check_gradient(lambda v: float(np.sum(v**2)), x, analytic, regions={"where x ties": region})


def test_check_gradient_reports_a_shape_mismatch():
    x = np.ones((2, 3))
    with pytest.raises(AssertionError, match=r"shape \(3, 2\)"):
        check_gradient(lambda v: float(np.sum(v)), x, np.ones((3, 2)))
