"""``TaskGrouper``: the scikit-learn-style estimator over ``group`` and ``group_auto``.

scikit-learn conventions without depending on scikit-learn: the constructor only stores its
arguments; ``fit(T)`` returns ``self``; what was learned ends in an underscore; ``get_params``
and ``set_params`` make it work with ``sklearn.base.clone`` and grid searches. numpy and pandas
are optional: ``labels_`` is a numpy array when numpy is installed (else a list), ``k_table_`` a
DataFrame when pandas is installed (else a list of dicts).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from . import (
    InvalidKRangeError,
    InvalidSettingError,
    InvalidTypeError,
    InvalidArgumentError,
    Result,
    _OPTION_NAMES,
    _is_int,
    group,
    group_auto,
)

_MAIN_PARAMS = ("n_groups", "k_range", "rule", "normalize")


def _k_range(value: Any) -> Tuple[int, Optional[int]]:
    """(k_min, k_max or None = n) of a ``k_range``: None (1..n), a pair (A, B) (both ends
    included, as the CLI's ``--k-range A..B``), a ``range`` (Python's: ``range(2, 7)`` is
    2..6) or the string "A..B"."""
    if value is None:
        return 1, None
    if isinstance(value, range):
        if value.step != 1 or len(value) == 0:
            raise InvalidKRangeError(
                f"invalid k range: {value!r} (a non-empty range with step 1)",
                InvalidKRangeError.status,
            )
        return value.start, value.stop - 1
    if isinstance(value, str):
        a, sep, b = value.partition("..")
        try:
            return int(a), int(b.lstrip("="))
        except ValueError:
            raise InvalidKRangeError(
                f"invalid k range: {value!r} (expected \"A..B\" with integers)",
                InvalidKRangeError.status,
            ) from None
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise InvalidTypeError(
            f"`k_range` must be None, a pair (k_min, k_max), a range or \"A..B\", got "
            f"{type(value).__name__} {value!r}",
            InvalidArgumentError.status,
        ) from None
    return lo, hi


class TaskGrouper:
    """Groups tasks from their affinity matrix, scikit-learn style.

    ``TaskGrouper(n_groups=3)`` groups into 3 groups; ``TaskGrouper()`` (``n_groups=None``)
    tries every k of ``k_range`` (None = 1..n; a pair (A, B) with both ends included, a
    ``range``, or "A..B") and keeps the one ``rule`` picks ("density": the paper's highest
    average density; "elbow": the largest drop in marginal gain, shift-invariant; "value").
    ``normalize``: None, "degree", "standardize" or "relative" (see ``taskgroup.group``).
    ``**solver_options``: the options of ``taskgroup.group`` (``rounding`` incl. "paper" and
    "threshold:C", ``threshold_c``, ``seed``, ``tolerance``, ``max_iterations``,
    ``projection``, ...).

    ``fit(T)``: T is an n×n affinity (numpy array, nested lists, or a pandas DataFrame whose
    index and columns name the tasks). Learned attributes:

    - ``labels_``: group of each task (numpy array; canonical: task 0 in group 0);
    - ``groups_``: the groups as lists of task names (DataFrame input) or indices;
    - ``k_``: the k solved for (the chosen one when k is searched); ``n_groups_``: the number
      of groups found (= ``k_`` except with threshold rounding);
    - the certificate: ``value_``, ``average_density_``, ``upper_bound_``, ``gap_``,
      ``gap_normalized_``, ``certified_optimal_``; the solver's ``status_``, ``iterations_``;
    - ``k_table_`` (k searched only, else None): one row per k (a DataFrame indexed by k when
      pandas is installed, else a list of dicts); ``k_by_density_``, ``k_by_elbow_``;
    - ``result_``: the ``taskgroup.Result``; ``n_features_in_`` (n) and, for a DataFrame with
      string names, ``feature_names_in_``.
    """

    def __init__(
        self,
        n_groups: Optional[int] = None,
        *,
        k_range: Any = None,
        rule: str = "density",
        normalize: Optional[str] = None,
        **solver_options: Any,
    ):
        unknown = sorted(set(solver_options) - set(_OPTION_NAMES))
        if unknown:
            raise TypeError(
                f"TaskGrouper got unknown option(s) {', '.join(unknown)} (solver options: "
                f"{', '.join(_OPTION_NAMES)})"
            )
        self.n_groups = n_groups
        self.k_range = k_range
        self.rule = rule
        self.normalize = normalize
        self.solver_options = dict(solver_options)

    # parameters ----------------------------------------------------------------------------

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's arguments by name (solver options flattened), as scikit-learn."""
        params = {name: getattr(self, name) for name in _MAIN_PARAMS}
        params.update(self.solver_options)
        return params

    def set_params(self, **params: Any) -> "TaskGrouper":
        """Changes constructor arguments (solver options included); unknown names raise
        ``ValueError`` as in scikit-learn. Returns ``self``."""
        for name, value in params.items():
            if name in _MAIN_PARAMS:
                setattr(self, name, value)
            elif name in _OPTION_NAMES:
                self.solver_options[name] = value
            else:
                raise ValueError(
                    f"invalid parameter {name!r} for TaskGrouper (valid: "
                    f"{', '.join(_MAIN_PARAMS + tuple(_OPTION_NAMES))})"
                )
        return self

    def __repr__(self) -> str:
        defaults = {"n_groups": None, "k_range": None, "rule": "density", "normalize": None}
        shown = [
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if k not in defaults or v != defaults[k]
        ]
        return f"TaskGrouper({', '.join(shown)})"

    # fitting -------------------------------------------------------------------------------

    def fit(self, T: Any, y: Any = None) -> "TaskGrouper":
        """Groups the tasks of ``T`` (``y`` is ignored, as for scikit-learn clusterers)."""
        if self.n_groups is not None:
            if self.k_range is not None:
                raise InvalidSettingError(
                    "set either n_groups (a fixed k) or k_range (search k), not both: "
                    f"n_groups={self.n_groups!r}, k_range={self.k_range!r}",
                    InvalidSettingError.status,
                )
            if not _is_int(self.n_groups):
                raise InvalidTypeError(
                    f"`n_groups` must be an integer number of groups or None, got "
                    f"{type(self.n_groups).__name__} {self.n_groups!r}",
                    InvalidArgumentError.status,
                )
            r = group(T, self.n_groups, normalize=self.normalize, **self.solver_options)
        else:
            lo, hi = _k_range(self.k_range)
            r = group_auto(
                T, lo, hi, rule=self.rule, normalize=self.normalize, **self.solver_options
            )
        self._store(r)
        return self

    def fit_predict(self, T: Any, y: Any = None) -> Any:
        """``fit(T)`` and return ``labels_``."""
        return self.fit(T, y).labels_

    def _store(self, r: Result) -> None:
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - numpy is optional
            np = None
        from . import _np as numpy_in_use  # None when numpy is hidden (tests)

        if numpy_in_use is None:
            np = None
        self.result_ = r
        self.labels_ = np.asarray(r.labels, dtype=np.intp) if np is not None else list(r.labels)
        self.groups_: List[List[Any]] = r.group_names if r.names is not None else r.groups
        self.k_ = r.k
        self.n_groups_ = r.num_groups
        self.value_ = r.value
        self.average_density_ = r.average_density
        self.sdp_value_ = r.sdp_value
        self.upper_bound_ = r.upper_bound
        self.gap_ = r.gap
        self.gap_normalized_ = r.gap_normalized
        self.certified_optimal_ = r.certified_optimal
        self.status_ = r.status
        self.iterations_ = r.iterations
        self.n_features_in_ = len(r.labels)
        if r.names is not None and all(isinstance(x, str) for x in r.names) and np is not None:
            self.feature_names_in_ = np.asarray(r.names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.k_by_density_ = r.k_by_density
        self.k_by_elbow_ = r.k_by_elbow
        self.k_table_: Any = None
        if r.table is not None:
            try:
                import pandas as pd
            except ImportError:
                pd = None
            if pd is not None and np is not None:
                self.k_table_ = pd.DataFrame(r.table).set_index("k")
            else:
                self.k_table_ = [dict(row) for row in r.table]
