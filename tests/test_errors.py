"""Every documented error: raised before any kernel runs, naming the argument and shapes."""

import numpy as np
import pytest

import mixstat
from mixstat.distributions import (
    Categorical,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
)


def mix2():
    return MixtureSameFamily(Categorical(probs=[0.3, 0.7]), Normal([-2.0, 2.0], [0.5, 1.0]))


# --- MixtureSameFamily construction -------------------------------------------------------
def test_mixture_must_be_categorical():
    with pytest.raises(ValueError, match="mixture_distribution must be a Categorical, got Normal"):
        MixtureSameFamily(Normal(0.0, 1.0), Normal([0.0, 1.0], 1.0))


def test_component_must_be_distribution():
    with pytest.raises(ValueError, match="component_distribution must be a Distribution"):
        MixtureSameFamily(Categorical(probs=[0.5, 0.5]), np.zeros(2))


def test_component_batch_empty():
    with pytest.raises(ValueError, match=r"empty batch_shape \(\)"):
        MixtureSameFamily(Categorical(probs=[1.0]), Normal(0.0, 1.0))


def test_component_last_dim_not_k():
    with pytest.raises(ValueError, match=r"batch_shape \(3,\) must end with K=2"):
        MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal(np.zeros(3), 1.0))


def test_batch_not_broadcastable():
    with pytest.raises(
        ValueError,
        match=r"mixture_distribution.batch_shape \(3,\) does not broadcast "
        r"with component_distribution.batch_shape\[:-1\] \(4,\)",
    ):
        MixtureSameFamily(Categorical(probs=np.ones((3, 2))), Normal(np.zeros((4, 2)), 1.0))


def test_batch_broadcasts():
    d = MixtureSameFamily(Categorical(probs=np.ones((3, 2))), Normal(np.zeros(2), 1.0))
    assert d.batch_shape == (3,)
    d = MixtureSameFamily(Categorical(probs=np.ones(2)), Normal(np.zeros((5, 2)), 1.0))
    assert d.batch_shape == (5,)
    d = MixtureSameFamily(Categorical(probs=np.ones((3, 1, 2))), Normal(np.zeros((4, 2)), 1.0))
    assert d.batch_shape == (3, 4)


# --- Categorical ------------------------------------------------------------------------
def test_categorical_exactly_one():
    with pytest.raises(ValueError, match="exactly one of probs or logits"):
        Categorical()
    with pytest.raises(ValueError, match="exactly one of probs or logits"):
        Categorical(probs=[0.5, 0.5], logits=[0.0, 0.0])


@pytest.mark.parametrize(
    "probs, what",
    [
        ([0.5, -0.1], "non-negative"),
        ([0.5, np.nan], "non-negative and finite"),
        ([0.5, np.inf], "finite"),
        ([[0.0, 0.0], [1.0, 1.0]], "positive sum"),
    ],
)
def test_categorical_bad_probs(probs, what):
    with pytest.raises(ValueError, match=f"probs of shape .* must be .*{what}"):
        Categorical(probs=probs)


@pytest.mark.parametrize(
    "logits, what",
    [
        ([0.0, np.nan], "not NaN"),
        ([0.0, np.inf], r"not \+inf"),
        ([-np.inf, -np.inf], "finite in at least one entry of every row"),
    ],
)
def test_categorical_bad_logits(logits, what):
    with pytest.raises(ValueError, match=f"logits of shape .* must be .*{what}"):
        Categorical(logits=logits)


def test_categorical_scalar_param():
    with pytest.raises(ValueError, match=r"at least one dim .* shape \(\)"):
        Categorical(probs=1.0)


def test_categorical_unchecked_probs_normalised():
    c = Categorical(probs=[2.0, 6.0], validate_args=False)
    np.testing.assert_allclose(c.probs, [0.25, 0.75])


# --- Normal -----------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [0.0, -1.0, np.nan, np.inf])
def test_normal_bad_scale(scale):
    with pytest.raises(ValueError, match=r"parameter scale of shape \(2,\) must satisfy positive"):
        Normal([0.0, 1.0], [1.0, scale])


@pytest.mark.parametrize("loc", [np.nan, np.inf])
def test_normal_bad_loc(loc):
    with pytest.raises(ValueError, match="parameter loc of shape"):
        Normal([0.0, loc], 1.0)


def test_normal_no_check_when_disabled():
    d = Normal(0.0, -1.0, validate_args=False)  # user asked for no parameter checks
    assert d.batch_shape == ()


def test_normal_shapes_do_not_broadcast():
    with pytest.raises(ValueError, match=r"loc \(3,\), scale \(2,\)"):
        Normal(np.zeros(3), np.ones(2))


@pytest.mark.parametrize(
    "bad, exc",
    [
        ("abc", TypeError),
        (["a", "b"], TypeError),
        ([1 + 2j], TypeError),
        ([[1.0, 2.0], [3.0]], ValueError),
        ([None, 1.0], ValueError),
    ],
)
def test_normal_bad_types(bad, exc):
    with pytest.raises(exc, match="loc"):
        Normal(bad, 1.0)


# --- MultivariateNormal -----------------------------------------------------------------
def test_mvn_exactly_one_matrix():
    with pytest.raises(ValueError, match="exactly one of covariance_matrix"):
        MultivariateNormal(np.zeros(2))
    with pytest.raises(ValueError, match="exactly one of covariance_matrix"):
        MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2), scale_tril=np.eye(2))


def test_mvn_size_mismatch():
    with pytest.raises(
        ValueError,
        match=r"loc of shape \(3,\) \(D=3\) does not match covariance_matrix "
        r"of shape \(2, 2\)",
    ):
        MultivariateNormal(np.zeros(3), covariance_matrix=np.eye(2))


def test_mvn_not_square():
    with pytest.raises(ValueError, match=r"covariance_matrix must be square .* \(2, 3\)"):
        MultivariateNormal(np.zeros(3), covariance_matrix=np.ones((2, 3)))


def test_mvn_batch_mismatch():
    with pytest.raises(ValueError, match="do not broadcast"):
        MultivariateNormal(np.zeros((3, 2)), covariance_matrix=np.broadcast_to(np.eye(2), (4, 2, 2)))


@pytest.mark.parametrize("name", ["covariance_matrix", "precision_matrix"])
def test_mvn_not_pd(name):
    bad = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match=f"{name} of shape \\(2, 2\\) must be positive-definite"):
        MultivariateNormal(np.zeros(2), **{name: bad})


@pytest.mark.parametrize("name", ["covariance_matrix", "precision_matrix"])
def test_mvn_not_symmetric(name):
    bad = np.array([[2.0, 0.5], [0.1, 2.0]])
    with pytest.raises(ValueError, match=f"{name} of shape \\(2, 2\\) must be symmetric"):
        MultivariateNormal(np.zeros(2), **{name: bad})


def test_mvn_not_pd_even_unchecked():
    with pytest.raises(ValueError, match="positive-definite"):
        MultivariateNormal(np.zeros(2), covariance_matrix=-np.eye(2), validate_args=False)


def test_mvn_bad_scale_tril():
    with pytest.raises(ValueError, match="scale_tril .* lower-triangular with a positive diagonal"):
        MultivariateNormal(np.zeros(2), scale_tril=np.array([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="scale_tril .* lower-triangular with a positive diagonal"):
        MultivariateNormal(np.zeros(2), scale_tril=np.array([[-1.0, 0.0], [0.0, 1.0]]))


def test_mvn_nonfinite_loc():
    with pytest.raises(ValueError, match="parameter loc of shape"):
        MultivariateNormal(np.array([0.0, np.nan]), covariance_matrix=np.eye(2))


# --- Independent ------------------------------------------------------------------------
def test_independent_ndims():
    with pytest.raises(ValueError, match=r"reinterpreted_batch_ndims=2 must be between 0 and .*=1"):
        Independent(Normal(np.zeros(3), 1.0), 2)
    with pytest.raises(TypeError, match="reinterpreted_batch_ndims must be an int"):
        Independent(Normal(np.zeros(3), 1.0), 1.0)
    with pytest.raises(TypeError, match="base_distribution must be a Distribution"):
        Independent(np.zeros(3), 1)


# --- values -----------------------------------------------------------------------------
def test_value_wrong_event_size():
    d = MixtureSameFamily(
        Categorical(probs=[0.5, 0.5]), MultivariateNormal(np.zeros((2, 3)), covariance_matrix=np.eye(3))
    )
    with pytest.raises(ValueError, match=r"value of shape \(5, 2\) does not end with event_shape \(3,\)"):
        d.log_prob(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"does not end with event_shape \(3,\)"):
        d.log_prob(0.0)


def test_value_not_broadcastable():
    d = MixtureSameFamily(Categorical(probs=np.ones((3, 2))), Normal(np.zeros(2), 1.0))
    with pytest.raises(ValueError, match=r"value of shape \(4,\) does not broadcast with batch_shape \(3,\)"):
        d.log_prob(np.zeros(4))
    with pytest.raises(ValueError, match="does not broadcast"):
        d.cdf(np.zeros((2, 4)))


@pytest.mark.parametrize(
    "value, exc",
    [
        ([[0.0, 1.0], [2.0]], ValueError),
        ("1.0", TypeError),
        (np.array([1j]), TypeError),
        (np.array(["a"]), TypeError),
    ],
)
def test_value_malformed(value, exc):
    with pytest.raises(exc, match="value"):
        mix2().log_prob(value)


def test_validate_true_checks_support():
    d = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal([0.0, 1.0], 1.0), validate_args=True)
    with pytest.raises(ValueError, match="outside the support"):
        d.log_prob(np.array([0.0, np.nan]))
    c = Categorical(probs=[0.2, 0.8], validate_args=True)
    with pytest.raises(ValueError, match="outside the support"):
        c.log_prob(2)
    with pytest.raises(ValueError, match="outside the support"):
        c.log_prob(0.5)


def test_validate_args_type():
    with pytest.raises(TypeError, match="validate_args"):
        Normal(0.0, 1.0, validate_args="yes")


# --- sample shapes and rng ------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, exc",
    [
        ((-1,), ValueError),
        (-3, ValueError),
        ((2.0,), TypeError),
        (2.5, TypeError),
        ("3", TypeError),
        ((True,), TypeError),
        (None, TypeError),
    ],
)
def test_bad_sample_shape(shape, exc):
    with pytest.raises(exc, match="sample_shape"):
        mix2().sample(shape)


@pytest.mark.parametrize(
    "rng, exc",
    [
        (-1, ValueError),
        (1.5, TypeError),
        ("seed", TypeError),
        (np.random.RandomState(0), TypeError),
    ],
)
def test_bad_rng(rng, exc):
    with pytest.raises(exc, match="rng"):
        mix2().sample((3,), rng=rng)


def test_bad_manual_seed():
    with pytest.raises(ValueError, match="seed"):
        mixstat.manual_seed(-5)
    with pytest.raises(TypeError, match="seed"):
        mixstat.manual_seed(1.5)


def test_bad_expand():
    with pytest.raises(ValueError, match=r"batch_shape \(3,\) cannot be expanded to \(2,\)"):
        Normal(np.zeros(3), 1.0).expand((2,))
    with pytest.raises(ValueError, match=r"batch_shape \(3,\) cannot be expanded to \(3, 2\)"):
        Normal(np.zeros(3), 1.0).expand((3, 2))
    with pytest.raises(TypeError, match="batch_shape"):
        mix2().expand((2.0,))
    assert Normal(np.zeros(3), 1.0).expand((2, 3)).batch_shape == (2, 3)
    assert mix2().expand((4,)).batch_shape == (4,)
