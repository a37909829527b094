"""pytest tests of the estimator and the pandas / option / normalisation parts of the package:
TaskGrouper, DataFrame input, the per-k table, rounding="paper", integer k, normalize=, and an
AffinityBuilder with no results. Run by scripts/ffi-check.sh against the debug library.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from testutil import REPO, optional

import taskgroup as tg  # noqa: E402

np, needs_numpy = optional("numpy")
pd, needs_pandas = optional("pandas")

NAMES = ["sst2", "imdb", "rte", "mnli", "squad", "nq"]


def planted(n_groups=2, size=3, inside=1.0, across=0.1):
    n = n_groups * size
    return [[inside if u // size == v // size else across for v in range(n)] for u in range(n)]


def frame(order=None):
    df = pd.DataFrame(planted(), index=NAMES, columns=NAMES)
    return df if order is None else df.loc[order, order]


def icl_like(seed=0):
    """The README's in-context-learning-like case (eval's icl_case): 9 tasks in 3 groups of 3,
    directed scores within the groups about 1, 1.2 and 100, between groups about 0.55. The raw
    objective splits the high-valued group; degree normalisation recovers all three."""
    import random

    rng = random.Random(seed)
    within = [(1.0, 0.1), (1.2, 0.1), (100.0, 10.0)]
    return [
        [
            within[u // 3][0] + within[u // 3][1] * rng.gauss(0.0, 1.0)
            if u // 3 == v // 3
            else 0.5 + 0.1 * rng.random()
            for v in range(9)
        ]
        for u in range(9)
    ]


ICL_TRUTH = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


# --- integer k ------------------------------------------------------------------------------


def test_k_must_be_an_integer():
    for bad in (2.5, 2.0, "2", None):
        with pytest.raises(TypeError, match="`k` must be an integer number of groups") as e:
            tg.group(planted(), bad)
        assert isinstance(e.value, tg.InvalidTypeError)
        assert "real numbers" not in str(e.value)
    with pytest.raises(TypeError, match="`k_max` must be an integer"):
        tg.group_auto(planted(), 1, 2.5)
    with pytest.raises(TypeError, match="`k_min` must be an integer"):
        tg.group_auto(planted(), 1.0, 3)
    if np is not None:
        assert tg.group(planted(), np.int64(2)).num_groups == 2


# --- CLI options ----------------------------------------------------------------------------


def test_rounding_paper_and_threshold_c_as_the_cli():
    t = planted()
    paper = tg.group(t, 2, rounding="paper")
    assert paper == tg.group(t, 2, rounding="threshold", threshold_c=1.0)
    assert paper == tg.group(t, 2, rounding="threshold:1")
    assert paper == tg.group(t, 2, rounding="paper", threshold_c=1.0)
    assert paper.groups == [[0, 1, 2], [3, 4, 5]]
    half = tg.group(t, 2, rounding="threshold:0.5")
    assert half == tg.group(t, 2, rounding="threshold", threshold_c=0.5)
    for bad in ("threshold:0", "threshold:x", "papers", "threshold:-1", 3):
        with pytest.raises(tg.InvalidSettingError, match="rounding"):
            tg.group(t, 2, rounding=bad)
    with pytest.raises(tg.InvalidSettingError, match="threshold_c = 0.5 was also given"):
        tg.group(t, 2, rounding="paper", threshold_c=0.5)


def test_rule_value_projection_tolerances_seed():
    t = planted()
    r = tg.group_auto(t, 1, 4, rule="value", projection="full", tolerance=1e-7,
                      max_iterations=5000, seed=3)
    assert r.k_rule == "value"
    assert r.k == 2  # the largest value, ties to fewer groups
    with pytest.raises(tg.InvalidSettingError, match="projection"):
        tg.group(t, 2, projection="fast")


def test_cli_json_and_python_agree_with_paper_rounding_and_the_k_table(tmp_path):
    cli = Path(os.environ.get("TASKGROUP_BIN", REPO / "target" / "debug" / "taskgroup"))
    if not cli.exists():
        pytest.skip(f"the CLI is not built at {cli}")
    path = tmp_path / "t.csv"
    t = icl_like()
    path.write_text("\n".join(",".join(repr(x) for x in row) for row in t) + "\n")

    def run(*args):
        out = subprocess.run([str(cli), "cluster", "--input", str(path), "--json", "--quiet",
                              *args], capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    c = run("-k", "3", "--rounding", "paper")
    p = tg.group(t, 3, rounding="paper")
    assert (p.labels, p.value, p.upper_bound, p.num_groups) == (
        c["labels"], c["value"], c["upper_bound"], c["num_groups"])
    for rule in ("density", "elbow"):
        c = run("--k-range", "2..5", "--k-rule", rule, "--rounding", "threshold:0.8")
        p = tg.group_auto(t, 2, 5, rule=rule, rounding="threshold:0.8")
        assert (p.k, p.labels, p.k_rule, p.k_by_density, p.k_by_elbow) == (
            c["k"], c["labels"], c["k_rule"], c["k_by_density"], c["k_by_elbow"])
        assert [{key: row[key] for key in crow} for row, crow in zip(p.table, c["table"])] \
            == c["table"]


# --- the per-k table ------------------------------------------------------------------------


def test_group_auto_returns_the_k_table():
    r = tg.group_auto(planted(), 1, 5, rule="elbow")
    assert r.k == 2 and r.k_by_elbow == 2 and r.k_rule == "elbow"
    assert [row["k"] for row in r.table] == [1, 2, 3, 4, 5]
    chosen = r.table[1]
    assert chosen["value"] == r.value and chosen["upper_bound"] == r.upper_bound
    assert set(chosen) >= {"k", "sdp_value", "value", "average_density", "upper_bound", "gap",
                           "certified_optimal", "status", "iterations", "elbow_score"}
    assert max(r.table, key=lambda row: row["elbow_score"])["k"] == r.k_by_elbow
    assert tg.group(planted(), 2).table is None


# --- DataFrames -----------------------------------------------------------------------------


@needs_pandas
def test_group_a_dataframe_keeps_the_names():
    r = tg.group(frame(), 2)
    assert r.names == NAMES
    assert r.group_names == [["sst2", "imdb", "rte"], ["mnli", "squad", "nq"]]
    assert r.labels == tg.group(planted(), 2).labels
    a = tg.group_auto(frame(), 1, 3, rule="elbow")
    assert a.group_names == r.group_names and a.k == 2


@needs_pandas
def test_dataframe_columns_in_another_order_follow_the_index():
    order = ["nq", "sst2", "squad", "imdb", "mnli", "rte"]
    df = frame(order)
    shuffled_cols = df[list(reversed(order))]
    r = tg.group(shuffled_cols, 2)
    assert r.names == order
    assert sorted(map(sorted, r.group_names)) == [["imdb", "rte", "sst2"], ["mnli", "nq", "squad"]]


@needs_pandas
def test_dataframe_from_read_csv_with_a_header_only(tmp_path):
    path = tmp_path / "t.csv"
    frame().to_csv(path, index=False)  # header row, no names column: a default index
    r = tg.group(pd.read_csv(path), 2)
    assert r.names == NAMES


@needs_pandas
def test_dataframe_mismatched_or_bad_labels_are_refused():
    df = frame()
    bad = df.rename(columns={"nq": "triviaqa"})
    with pytest.raises(tg.InvalidArgumentError, match=r"index has 'nq'.*columns have 'triviaqa'"):
        tg.group(bad, 2)
    with pytest.raises(ValueError):
        tg.group(bad, 2)
    dup = df.rename(index={"nq": "sst2"}, columns={"nq": "sst2"})
    with pytest.raises(tg.InvalidArgumentError, match="repeats task names: 'sst2'"):
        tg.group(dup, 2)
    with pytest.raises(tg.NotSquareError, match="5 rows and 6 columns"):
        tg.group(df.iloc[:5], 2)
    text = df.astype(str)
    with pytest.raises(tg.InvalidTypeError, match="column 'sst2' of dtype"):
        tg.group(text, 2)
    nan = df.copy()
    nan.iloc[1, 2] = float("nan")
    with pytest.raises(tg.NonFiniteError, match="row 1"):
        tg.group(nan, 2)


@needs_pandas
def test_dataframe_without_numpy_module(monkeypatch):
    monkeypatch.setattr(tg, "_np", None)
    assert tg.group(frame(), 2).group_names == [["sst2", "imdb", "rte"], ["mnli", "squad", "nq"]]


# --- normalisation --------------------------------------------------------------------------


def test_degree_normalisation_fixes_the_icl_case():
    t = icl_like()
    assert tg.group(t, 3).groups != ICL_TRUTH  # the raw objective splits the large group
    r = tg.group(t, 3, normalize="degree")
    assert r.groups == ICL_TRUTH and r.normalize == "degree"
    assert tg.group(t, 3, normalize="symmetric_degree") == r
    assert tg.group_auto(t, 3, 3, normalize="degree").groups == ICL_TRUTH
    assert tg.TaskGrouper(3, normalize="degree").fit(t).groups_ == ICL_TRUTH
    assert tg.group(t, 3, normalize=None).normalize == "none"
    with pytest.raises(tg.InvalidSettingError, match="normalize"):
        tg.group(t, 3, normalize="l2")


def test_normalize_affinity_matches_what_group_sees():
    t = icl_like()
    for how in ("degree", "standardize", "relative", "none"):
        m = tg.normalize_affinity(t, how)
        assert len(m) == 9 and all(m[i][j] == m[j][i] for i in range(9) for j in range(9))
        assert tg.group(m, 3).labels == tg.group(t, 3, normalize=how).labels
    t0 = planted()
    t0[2][2] = 0.0
    with pytest.raises(tg.ZeroReferenceError):
        tg.group(t0, 2, normalize="relative")


@needs_pandas
def test_normalize_affinity_of_a_dataframe_is_a_dataframe():
    m = tg.normalize_affinity(frame(), "degree")
    assert list(m.index) == NAMES and list(m.columns) == NAMES
    if np is not None:
        assert isinstance(tg.normalize_affinity(np.array(planted()), "degree"), np.ndarray)


# --- TaskGrouper ----------------------------------------------------------------------------


def test_constructor_only_stores_and_fit_returns_self():
    g = tg.TaskGrouper(2, rounding="nonsense", normalize="nonsense")
    assert g.get_params()["rounding"] == "nonsense"  # checked at fit time, as scikit-learn
    with pytest.raises(tg.InvalidSettingError):
        g.fit(planted())
    g = tg.TaskGrouper(2)
    assert g.fit(planted()) is g
    assert not hasattr(tg.TaskGrouper(2), "labels_")
    with pytest.raises(TypeError, match="unknown option"):
        tg.TaskGrouper(2, tolerence=1e-3)


@needs_pandas
def test_fixed_k_on_a_dataframe():
    g = tg.TaskGrouper(n_groups=2).fit(frame())
    assert g.groups_ == [["sst2", "imdb", "rte"], ["mnli", "squad", "nq"]]
    assert list(g.labels_) == [0, 0, 0, 1, 1, 1]
    assert isinstance(g.labels_, np.ndarray)
    assert g.certified_optimal_ and g.upper_bound_ >= g.value_ - 1e-9 and g.gap_ < 1e-6
    assert g.k_ == 2 and g.n_groups_ == 2 and g.k_table_ is None
    assert list(g.feature_names_in_) == NAMES and g.n_features_in_ == 6
    assert list(g.fit_predict(frame())) == [0, 0, 0, 1, 1, 1]


@needs_pandas
def test_k_searched_gives_the_table_as_a_dataframe():
    g = tg.TaskGrouper(k_range=(1, 4), rule="elbow").fit(frame())
    assert g.k_ == 2 and g.k_by_elbow_ == 2
    assert isinstance(g.k_table_, pd.DataFrame)
    assert list(g.k_table_.index) == [1, 2, 3, 4]
    assert g.k_table_.loc[2, "value"] == g.value_
    for spec in (range(1, 5), "1..4", [1, 4]):
        assert tg.TaskGrouper(k_range=spec, rule="elbow").fit(frame()).k_ == 2
    with pytest.raises(tg.InvalidSettingError, match="not both"):
        tg.TaskGrouper(2, k_range=(1, 3)).fit(planted())
    with pytest.raises(TypeError, match="`n_groups` must be an integer"):
        tg.TaskGrouper(2.5).fit(planted())


def test_lists_without_numpy_or_pandas(monkeypatch):
    monkeypatch.setattr(tg, "_np", None)
    g = tg.TaskGrouper(k_range=(1, 3), rule="elbow").fit(planted())
    assert g.labels_ == [0, 0, 0, 1, 1, 1]
    assert g.groups_ == [[0, 1, 2], [3, 4, 5]]
    assert isinstance(g.k_table_, list) and g.k_table_[1]["k"] == 2


def test_get_and_set_params():
    g = tg.TaskGrouper(3, normalize="degree", seed=4, rounding="paper")
    assert g.get_params() == {"n_groups": 3, "k_range": None, "rule": "density",
                              "normalize": "degree", "seed": 4, "rounding": "paper"}
    assert g.set_params(n_groups=2, tolerance=1e-7) is g
    assert g.get_params()["tolerance"] == 1e-7 and g.n_groups == 2
    with pytest.raises(ValueError, match="invalid parameter 'nope'"):
        g.set_params(nope=1)
    assert "TaskGrouper(n_groups=2" in repr(g)
    copy = tg.TaskGrouper(**g.get_params())
    assert copy.get_params() == g.get_params()


def test_sklearn_clone_and_grid_search():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone

    g = tg.TaskGrouper(2, seed=5, rounding="threshold:0.5", k_range=None)
    c = clone(g)
    assert c is not g and c.get_params() == g.get_params()
    from sklearn.model_selection import ParameterGrid

    for params in ParameterGrid({"n_groups": [2, 3], "seed": [0, 1]}):
        fitted = clone(g).set_params(rounding="robust", **params).fit(planted())
        assert fitted.n_groups_ == fitted.k_ == params["n_groups"]
    assert sklearn is not None


# --- AffinityBuilder with no results --------------------------------------------------------


def test_affinity_builder_without_results_is_an_error():
    with tg.AffinityBuilder(3) as b:
        with pytest.raises(tg.NoRecordsError, match="no subset results were added"):
            b.compute()
        b.add([0, 1], [1.0, 2.0])
        m = b.compute()
        assert m[0][1] == 1.0
