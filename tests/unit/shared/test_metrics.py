import numpy as np
import pandas as pd
import pytest

from model_recycling.metrics import NonFiniteError, accuracy, spearman


def test_accuracy_keeps_counts():
    result = accuracy([0, 1, 2, 1], [0, 1, 1, 1])
    assert result == {"score": 0.75, "n_correct": 3, "n_eval": 4}


def test_spearman_matches_pandas_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 200).astype(float)
    b = a + rng.normal(0, 2, 200)
    # Spearman = Pearson correlation of average ranks
    expected = pd.Series(a).rank().corr(pd.Series(b).rank())
    assert spearman(a, b)["score"] == pytest.approx(expected)


def test_spearman_of_constant_predictions_is_zero():
    assert spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])["score"] == 0.0


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("predictions", [[NAN, NAN, NAN], [1.0, NAN, 3.0], [1.0, 2.0, INF]])
def test_spearman_of_non_finite_predictions_is_no_number(predictions):
    # all-NaN predictions would rank in input order and score 1.0
    with pytest.raises(NonFiniteError, match="non-finite predictions"):
        spearman(predictions, [1.0, 2.0, 3.0])


def test_non_finite_labels_or_predictions_are_no_accuracy():
    with pytest.raises(NonFiniteError, match="non-finite predictions: 1 of 3 values"):
        accuracy([0.0, NAN, 1.0], [0, 1, 1])
    with pytest.raises(NonFiniteError, match="non-finite labels"):
        spearman([1.0, 2.0, 3.0], [1.0, NAN, 3.0])
