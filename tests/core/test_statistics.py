"""Statistics formulas against textbook values and independent implementations (scipy,
statsmodels, numpy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from synanno_dash.core.statistics import (
    NO_ERROR,
    KappaMethod,
    Proportion,
    TruthCell,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_from_sums,
    item_agreement,
    rate_bin_width_s,
    score_against_truth,
    weighted_quantile,
    wilson_interval,
)


# Newcombe RG (1998), "Two-sided confidence intervals for the single proportion: comparison
# of seven methods", Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score
# interval without continuity correction), to four decimals.
@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)  # fmt: skip
def test_wilson_interval_matches_newcombe_1998(
    successes: int, trials: int, low: float, high: float
) -> None:
    got = wilson_interval(successes, trials)
    assert got == pytest.approx((low, high), abs=5e-5)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_equals_scipy(case: tuple[int, int]) -> None:
    successes, trials = case
    ref = binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(successes, trials) == pytest.approx((ref.low, ref.high), abs=1e-9)


def test_wilson_edges_and_bad_counts() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and 0.8 < low < 1.0
    with pytest.raises(ValueError, match="successes <= trials"):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        Proportion(-1, 4)


def test_proportion_reads_as_a_person_would() -> None:
    p = Proportion(3, 12)
    assert p.rate == 0.25
    assert p.interval == wilson_interval(3, 12)
    assert str(p).startswith("25.0% (3 of 12; 95% CI ")
    assert Proportion(0, 0).rate is None and Proportion(0, 0).interval is None
    assert str(Proportion(0, 0)) == "0 of 0"


# Cohen's kappa. Wikipedia, "Cohen's kappa", worked example: 50 grant proposals, both
# readers yes 20, A yes B no 5, A no B yes 10, both no 15: p_o = 0.7, p_e = 0.5, kappa 0.4.
def test_cohen_kappa_wikipedia_two_by_two() -> None:
    k = cohen_kappa([[20, 5], [10, 15]])
    assert k.method is KappaMethod.COHEN
    assert (k.observed, k.expected, k.n_items) == (pytest.approx(0.7), pytest.approx(0.5), 50)
    assert k.kappa == pytest.approx(0.4)


# Bonnardel P., "The Kappa coefficient: the measurement of interrater agreement" (kappa.txt),
# three diagnostic categories, 100 subjects: P_o = 0.770, P_e = 0.336, kappa = 0.654.
def test_cohen_kappa_three_categories_textbook() -> None:
    k = cohen_kappa([[25, 3, 5], [6, 32, 8], [1, 0, 20]])
    assert k.observed == pytest.approx(0.770)
    assert k.expected == pytest.approx(0.336, abs=5e-4)
    assert k.kappa == pytest.approx(0.654, abs=5e-4)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels' own 0/0 on edge tables
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=9, max_size=9).filter(lambda v: sum(v) > 0))
def test_cohen_kappa_equals_statsmodels(cells: list[int]) -> None:
    matrix = [cells[0:3], cells[3:6], cells[6:9]]
    k = cohen_kappa(matrix)
    reference = sm_cohens_kappa(np.array(matrix)).kappa
    if k.kappa is None:
        assert k.observed == pytest.approx(1.0)  # one category only: undefined
    else:
        assert k.kappa == pytest.approx(reference, abs=1e-9)


# Fleiss' kappa. Wikipedia, "Fleiss' kappa", worked example: 14 raters, 10 subjects, five
# categories: P-bar = 0.378, P_e = 0.213, kappa = 0.210.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]  # fmt: skip


def test_fleiss_kappa_wikipedia_example() -> None:
    k = fleiss_kappa(WIKIPEDIA_FLEISS)
    assert k.method is KappaMethod.FLEISS
    assert k.observed == pytest.approx(0.378, abs=5e-4)
    assert k.expected == pytest.approx(0.213, abs=5e-4)
    assert k.kappa == pytest.approx(0.210, abs=5e-4)
    assert k.n_items == 10


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels' own 0/0 on edge tables
@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 9).flatmap(
        lambda raters: st.lists(
            st.lists(st.integers(0, raters), min_size=2, max_size=2).map(
                lambda v, r=raters: _split(v, r)
            ),
            min_size=1,
            max_size=30,
        )
    )
)
def test_fleiss_kappa_equals_statsmodels(table: list[list[int]]) -> None:
    k = fleiss_kappa(table)
    reference = sm_fleiss_kappa(np.array(table), method="fleiss")
    if k.kappa is None:
        assert k.expected == pytest.approx(1.0)
    else:
        assert k.kappa == pytest.approx(reference, abs=1e-9)


def _split(cuts: list[int], raters: int) -> list[int]:
    """Three category counts summing to ``raters``."""
    a, b = sorted(min(c, raters) for c in cuts)
    return [a, b - a, raters - b]


def test_fleiss_kappa_from_sums_and_variable_raters() -> None:
    table = [[2, 1, 0], [0, 3, 0], [1, 1, 1]]
    k = fleiss_kappa(table)
    sums = fleiss_kappa_from_sums(3, sum(item_agreement(r) for r in table), [3, 5, 1])
    assert (k.kappa, k.observed, k.expected) == pytest.approx((sums.kappa, sums.observed,
                                                               sums.expected))
    # variable numbers of raters: each item's own pairs; a two-rater item that agrees is 1
    mixed = fleiss_kappa([[2, 0, 0], [1, 2, 0]])
    assert mixed.observed == pytest.approx((1.0 + 1 / 3) / 2)
    assert mixed.expected == pytest.approx((3 / 5) ** 2 + (2 / 5) ** 2)
    with pytest.raises(ValueError, match="at least two ratings"):
        fleiss_kappa([[1, 0, 0]])


def test_kappa_undefined_when_everyone_uses_one_label() -> None:
    k = fleiss_kappa([[3, 0, 0], [3, 0, 0]])
    assert k.kappa is None and k.observed == 1.0
    assert cohen_kappa([[5, 0], [0, 0]]).kappa is None
    with pytest.raises(ValueError, match="square"):
        cohen_kappa([[1, 2]])


def test_score_against_truth_hand_built() -> None:
    cells = [
        TruthCell("correct", None, NO_ERROR, 80),
        TruthCell("incorrect", "false_positive", NO_ERROR, 2),  # a false alarm
        TruthCell("incorrect", "false_positive", "false_positive", 6),
        TruthCell("unsure", None, "false_positive", 1),
        TruthCell("correct", None, "false_positive", 1),  # missed
        TruthCell("incorrect", "false_positive", "poorly_aligned", 1),  # found, misnamed
        TruthCell("incorrect", "poorly_aligned", "poorly_aligned", 3),
        TruthCell("correct", None, "poorly_aligned", 4),
    ]
    acc = score_against_truth(cells)
    # flags: 2 + 6 + 1 + 1 + 3 = 13, of which 11 are true errors; errors: 8 + 8 = 16
    assert (acc.precision.count, acc.precision.total) == (11, 13)
    assert (acc.recall.count, acc.recall.total) == (11, 16)
    assert acc.reviewed == 98
    fp, pa = acc.per_type
    assert fp.error == "false_positive" and pa.error == "poorly_aligned"
    assert (fp.detected.count, fp.detected.total) == (7, 8)
    assert (fp.named.count, fp.named.total) == (6, 8)
    assert (fp.category_precision.count, fp.category_precision.total) == (6, 9)
    assert (pa.detected.count, pa.named.count, pa.category_precision.total) == (4, 3, 3)
    m = acc.confusion
    assert m.labels == ("correct", "incorrect", "unsure")
    assert m.truths == (NO_ERROR, "false_positive", "poorly_aligned")
    assert m.counts == ((80, 1, 4), (2, 6, 4), (0, 1, 0))


def test_score_with_no_flags_or_no_errors_has_no_rate() -> None:
    acc = score_against_truth([TruthCell("correct", None, NO_ERROR, 5)])
    assert acc.precision.rate is None and acc.recall.rate is None
    assert acc.per_type == ()


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.integers(0, 600).map(lambda v: v / 10), st.integers(0, 50), max_size=40),
    st.floats(0, 1),
)
def test_weighted_quantile_equals_numpy_inverted_cdf(weights: dict[float, int], q: float) -> None:
    values = np.repeat(list(weights), list(weights.values()))
    got = weighted_quantile(weights, q)
    if len(values) == 0:
        assert got is None
    else:
        assert got == pytest.approx(float(np.quantile(values, q, method="inverted_cdf")))


def test_rate_bins_stay_bounded() -> None:
    assert rate_bin_width_s(0) == 60
    assert rate_bin_width_s(3 * 3600) == 60  # 180 one-minute bins
    assert rate_bin_width_s(5 * 3600) == 120
    for span in (1e3, 1e5, 1e7, 1e9):
        assert span / rate_bin_width_s(span) < 240
