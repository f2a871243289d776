"""The bag data model: accepted forms, the flat layout, converters, errors."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skmil.bags import (
    Bags,
    check_bags,
    from_aeon,
    from_arrays,
    from_frame,
    from_tslearn,
    to_arrays,
    to_frame,
)


def _bags(sizes, d=3, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.normal(size=(n, d)) for n in sizes]


def test_layout_of_a_list():
    bags = _bags([2, 1, 3])
    b = check_bags(bags)
    assert b.instances.flags["C_CONTIGUOUS"] and b.instances.dtype == np.float64
    assert b.offsets.dtype == np.int64
    np.testing.assert_array_equal(b.offsets, [0, 2, 3, 6])
    np.testing.assert_array_equal(b.sizes, [2, 1, 3])
    np.testing.assert_array_equal(b.bag_index, [0, 0, 1, 2, 2, 2])
    for got, want in zip(b, bags):
        np.testing.assert_array_equal(got, want)
    assert len(b) == 3 and b.n_features == 3 and b.n_instances == 6


@pytest.mark.parametrize(
    "convert",
    [
        tuple,
        lambda bs: np.array(bs + [np.zeros((1, 3))], dtype=object)[:-1],
        lambda bs: [b.tolist() for b in bs],
        lambda bs: [b.astype(np.float32) for b in bs],
        lambda bs: [sp.csr_matrix(b) for b in bs],
        lambda bs: iter(bs),
    ],
    ids=["tuple", "object_array", "nested_lists", "float32", "sparse", "iterator"],
)
def test_accepted_forms(convert):
    bags = _bags([2, 4, 1])
    b = check_bags(convert(bags))
    np.testing.assert_allclose(b.instances, np.vstack(bags), rtol=1e-6)


def test_mixed_ndarray_bags_fill_one_c_contiguous_float_array():
    # numeric 2-D ndarrays take the fast path: any dtype, order or stride
    base = np.arange(24.0).reshape(4, 6)
    bags = [
        np.asfortranarray(base[:2, :3]),
        np.array([[1, 2, 3]], dtype=np.int32),
        np.array([[True, False, True]]),
        base[::2, ::2].astype(np.float32),  # strided view of a copy
        base[1:3, 3:],  # non-contiguous view of the caller's array
    ]
    b = check_bags(bags)
    assert b.instances.flags["C_CONTIGUOUS"] and b.instances.dtype == np.float64
    np.testing.assert_array_equal(b.instances, np.vstack([x.astype(np.float64) for x in bags]))
    assert not np.shares_memory(b.instances, base)


def test_integer_bags_become_float():
    b = check_bags([np.array([[1, 2]]), np.array([[3, 4], [5, 6]])])
    assert b.instances.dtype == np.float64


def test_three_d_array_is_refused_naming_both_readings():
    X = np.arange(24.0).reshape(2, 3, 4)
    with pytest.raises(ValueError) as err:
        check_bags(X)
    msg = str(err.value)
    assert "(n_bags, n_instances, n_features)" in msg and "2 bags of 3 instances" in msg
    assert "(n_cases, n_channels, n_timepoints)" in msg and "2 bags of 4 time points" in msg
    assert "from_tslearn" in msg and "from_aeon" in msg
    # the orientation stated explicitly: both readings are available
    b = from_tslearn(X)
    np.testing.assert_array_equal(b.offsets, [0, 3, 6])
    np.testing.assert_array_equal(b[1], X[1])
    a = from_aeon(X)
    np.testing.assert_array_equal(a.offsets, [0, 4, 8])
    np.testing.assert_array_equal(a[1], X[1].T)


def test_from_tslearn_drops_trailing_padding_only():
    X = np.arange(30.0).reshape(3, 5, 2)
    X[0, 3:] = np.nan  # series 0 is 3 points long
    X[2, 1, 0] = np.nan  # a gap inside series 2 is data, not padding
    with pytest.raises(ValueError, match="Bag 2 contains NaN"):
        from_tslearn(X)
    b = from_tslearn(X, allow_nan=True)
    np.testing.assert_array_equal(b.sizes, [3, 5, 5])
    np.testing.assert_array_equal(b[0], X[0, :3])
    assert np.isnan(b[2][1, 0])
    uni = from_tslearn(np.ones((4, 6)))  # univariate (n_ts, sz)
    assert uni.n_bags == 4 and uni.n_features == 1 and uni.n_instances == 24
    with pytest.raises(ValueError, match="only NaN"):
        from_tslearn(np.full((2, 3, 1), np.nan))


def test_from_aeon_collections():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    cases = [rng.normal(size=(2, n)) for n in (5, 3)]  # np-list: unequal lengths
    b = from_aeon(cases)
    np.testing.assert_array_equal(b.sizes, [5, 3])
    np.testing.assert_array_equal(b[1], cases[1].T)
    uni = from_aeon(rng.normal(size=(3, 7)))  # numpy2D: univariate
    assert uni.n_bags == 3 and uni.n_features == 1 and uni.sizes.tolist() == [7, 7, 7]
    # sktime pd-multiindex: (case, time) row index, one column per channel
    index = pd.MultiIndex.from_tuples([("c", 0), ("c", 1), ("a", 0)], names=["case", "t"])
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "z": [4.0, 5.0, 6.0]}, index=index)
    m = from_aeon(df)
    np.testing.assert_array_equal(m.sizes, [2, 1])
    np.testing.assert_array_equal(m[0], [[1.0, 4.0], [2.0, 5.0]])
    with pytest.raises(ValueError, match="two-level row index"):
        from_aeon(pd.DataFrame({"x": [1.0]}))


def test_pandas_bags():
    pd = pytest.importorskip("pandas")
    bags = [pd.DataFrame(np.ones((2, 2))), pd.DataFrame(np.zeros((1, 2)))]
    assert check_bags(bags).n_instances == 3


def test_bags_object_passes_through_without_copy():
    b = check_bags(_bags([2, 2]))
    assert check_bags(b) is b


def test_never_shares_or_modifies_user_arrays():
    bags = _bags([3, 2])
    before = [x.copy() for x in bags]
    b = check_bags(bags)
    b.instances[:] = 0.0
    for x, y in zip(bags, before):
        np.testing.assert_array_equal(x, y)


def test_take_and_indexing():
    bags = _bags([1, 2, 3, 4])
    b = check_bags(bags)
    sub = b.take([3, 1])
    np.testing.assert_array_equal(sub.offsets, [0, 4, 6])
    np.testing.assert_array_equal(sub[0], bags[3])
    np.testing.assert_array_equal(sub[1], bags[1])
    np.testing.assert_array_equal(b[-1], bags[3])
    assert b[1:3].n_bags == 2
    mask = np.array([True, False, True, False])
    assert b.take(mask).n_instances == 4
    with pytest.raises(IndexError):
        b[4]


def test_split_and_with_instances():
    b = check_bags(_bags([2, 3]))
    parts = b.split(np.arange(5))
    assert [p.tolist() for p in parts] == [[0, 1], [2, 3, 4]]
    b2 = b.with_instances(b.instances[:, :1] * 2)
    assert b2.n_features == 1 and b2.n_bags == 2
    with pytest.raises(ValueError, match="instance rows"):
        b.with_instances(np.zeros((4, 1)))


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([], ValueError, "no bags"),
        (None, TypeError, "None"),
        ("abc", TypeError, "str"),
        (np.zeros((4, 3)), ValueError, "2-D numeric array"),
        ([np.zeros((2, 3)), np.zeros((0, 3))], ValueError, "Bag 1 has no instances"),
        ([np.zeros((2, 3)), np.zeros(3)], ValueError, "Bag 1 is 1-D"),
        ([np.zeros((2, 3)), np.zeros((2, 4))], ValueError, "Bag 1 has 4 features but bag 0 has 3"),
        ([np.zeros((2, 3)), np.full((1, 3), np.nan)], ValueError, "Bag 1 contains NaN"),
        ([np.full((1, 3), -np.inf)], ValueError, "Bag 0 contains NaN or infinity"),
        ([np.array([["x", "y"]])], ValueError, "Bag 0 holds non-numeric"),
        ([np.zeros((1, 2)), None], TypeError, "Bag 1 is a NoneType"),
        ([np.zeros((1, 2)) + 1j], ValueError, "complex"),
        ([np.zeros((2, 2, 2))], ValueError, "Bag 0 has 3 dimensions"),
        ([[[1.0, 2.0], [3.0]]], ValueError, "Bag 0"),
    ],
)
def test_errors_name_the_bag(X, error, match):
    with pytest.raises(error, match=match):
        check_bags(X)


def test_allow_nan_still_rejects_infinity():
    X = [np.array([[np.nan, 1.0]])]
    assert np.isnan(check_bags(X, allow_nan=True).instances).any()
    with pytest.raises(ValueError, match="infinity"):
        check_bags([np.array([[np.inf, 1.0]])], allow_nan=True)


def test_n_features_check():
    with pytest.raises(ValueError, match="fitted with 4 features"):
        check_bags([np.zeros((1, 3))], n_features=4, estimator_name="X")


def test_from_arrays_preserves_order_within_bags():
    X = np.arange(12.0).reshape(6, 2)
    ids = np.array([7, 3, 7, 3, 9, 7])
    bags, y = from_arrays(X, ids, y=[1, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(bags[0], X[[0, 2, 5]])  # id 7 appears first
    np.testing.assert_array_equal(bags[1], X[[1, 3]])
    np.testing.assert_array_equal(bags[2], X[[4]])
    np.testing.assert_array_equal(y, [1, 0, 0])


def test_from_arrays_errors():
    with pytest.raises(ValueError, match=r"bag 0 has two labels: 0 in row 0 and 1 in row 1"):
        from_arrays(np.zeros((2, 1)), [0, 0], y=[0, 1])
    with pytest.raises(ValueError, match="bag 'P0' has two labels: 'a' in row 0 and 'b'"):
        from_arrays(np.zeros((2, 1)), np.array(["P0", "P0"]), y=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="one id per row"):
        from_arrays(np.zeros((2, 1)), [0])
    with pytest.raises(ValueError, match="no label.*row 1"):
        from_arrays(np.zeros((2, 1)), [0, 1], y=[1.0, np.nan])


@pytest.mark.parametrize(
    "ids, rows",
    [
        ([1.0, np.nan, 1.0, np.nan], "rows 1, 3"),
        (np.array(["a", "", "a", " "]), "rows 1, 3"),
        (np.array(["a", None, "a", "b"], dtype=object), "row 1,"),
        (np.array(["a", np.nan, "a", "b"], dtype=object), "row 1,"),
    ],
    ids=["nan", "empty_text", "none", "nan_in_text"],
)
def test_missing_bag_id_is_an_error_naming_rows_never_a_bag(ids, rows):
    with pytest.raises(ValueError, match="no bag id") as err:
        from_arrays(np.arange(4.0)[:, None], ids, y=[0, 0, 0, 0])
    assert rows in str(err.value)


def test_missing_bag_ids_are_counted_and_the_first_rows_named():
    ids = np.full(20, np.nan)
    ids[0] = 1
    with pytest.raises(ValueError, match=r"19 row\(s\).*rows 1, 2, 3, 4, 5 and 14 more"):
        from_arrays(np.zeros((20, 1)), ids)


def test_mixed_type_bag_ids_are_a_clear_error():
    ids = np.array(["a", 1, "a", 2], dtype=object)
    with pytest.raises(ValueError, match=r"mix types: row 0 holds 'a' \(str\) but row 1 "
                       r"holds 1 \(number\)"):
        from_arrays(np.zeros((4, 1)), ids)
    # ints and floats are one kind; ids need not be sortable
    b = from_arrays(np.zeros((3, 1)), np.array([1, 2.0, (3, 4)][:2] + [1], dtype=object))
    assert b.n_bags == 2


def test_from_arrays_returns_ids_in_bag_order():
    X = np.arange(5.0)[:, None]
    bags, y, ids = from_arrays(X, ["z", "a", "z", "m", "a"], [1, 0, 1, 0, 0], return_ids=True)
    assert ids.tolist() == ["z", "a", "m"] and y.tolist() == [1, 0, 0]
    np.testing.assert_array_equal(bags[0].ravel(), [0.0, 2.0])
    bags, ids = from_arrays(X, [5, 5, 4, 4, 4], return_ids=True)
    assert ids.tolist() == [5, 4]


def test_from_arrays_names_non_numeric_and_missing_cells():
    X = np.array([[1.0, "2"], [3.0, "x"]], dtype=object)
    with pytest.raises(ValueError, match=r"column 'g' holds the non-numeric value 'x' in row 1"):
        from_arrays(X, [0, 0], feature_names=["f", "g"])
    X = np.array([[1.0, 2.0], [np.nan, 3.0]])
    with pytest.raises(ValueError, match=r"column 0 has a missing value in row 1.*allow_nan"):
        from_arrays(X, [0, 1])
    assert np.isnan(from_arrays(X, [0, 1], allow_nan=True)[1]).any()


def test_frame_round_trip():
    pytest.importorskip("pandas")
    bags = _bags([2, 3, 1])
    y = np.array([1, 0, 1])
    df = to_frame(bags, y)
    assert list(df.columns[:2]) == ["bag_id", "bag_label"]
    bags2, y2 = from_frame(df, bag="bag_id", label="bag_label")
    np.testing.assert_array_equal(y2, y)
    for a, b in zip(bags2, bags):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not in the DataFrame"):
        from_frame(df, bag="nope")


def test_frame_ids_round_trip_to_the_users_own_ids():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"patient": ["p9", "p9", "p3", "p5", "p3"], "dx": [1, 1, 0, 1, 0],
                       "a": [0.1, 0.2, 0.3, 0.4, 0.5], "b": [1.0, 2.0, 3.0, 4.0, 5.0]})
    bags, y, ids = from_frame(df, bag="patient", label="dx", return_ids=True)
    assert ids.tolist() == ["p9", "p3", "p5"] and y.tolist() == [1, 0, 1]
    bags_only, ids_only = from_frame(df, bag="patient", features=["a", "b"], return_ids=True)
    assert ids_only.tolist() == ids.tolist() and bags_only == bags
    back = to_frame(bags, y, ids=ids, bag="patient", label="dx", feature_names=["a", "b"])
    # the same rows come back under the same ids (grouped by bag)
    merged = back.sort_values(["patient", "a"]).reset_index(drop=True)
    expected = df.sort_values(["patient", "a"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, expected)
    with pytest.raises(ValueError, match="one id per bag"):
        to_frame(bags, ids=["p9"])


def test_from_frame_missing_ids_and_values():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"bag": ["a", None, "a"], "f": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="no bag id.*row 1"):
        from_frame(df, bag="bag")
    df = pd.DataFrame({"bag": ["a", "b", "a"], "f": [1.0, np.nan, 3.0],
                       "g": pd.array([1, 2, None], dtype="Int64")})
    with pytest.raises(ValueError, match="column 'f' has a missing value in row 1"):
        from_frame(df, bag="bag")
    bags = from_frame(df, bag="bag", allow_nan=True)
    assert np.isnan(bags[0][1, 1]) and np.isnan(bags[1][0, 0])
    df = pd.DataFrame({"bag": ["a", "b"], "f": [1.0, 2.0], "t": ["x", "y"]})
    with pytest.raises(ValueError, match="column 't' holds the non-numeric value 'x' in row 0"):
        from_frame(df, bag="bag")
    df = pd.DataFrame({"bag": ["a", 3], "f": [1.0, 2.0]})
    with pytest.raises(ValueError, match="mix types"):
        from_frame(df, bag="bag")


def test_from_frame_takes_polars_frames_and_lazy_frames():
    pl = pytest.importorskip("polars")
    data = {"bag": ["p9", "p9", "p3"], "y": [1, 1, 0], "f0": [0.1, None, 0.3],
            "f1": [1, 2, 3]}
    for frame in (pl.DataFrame(data), pl.LazyFrame(data)):
        with pytest.raises(ValueError, match="column 'f0' has a missing value in row 1"):
            from_frame(frame, bag="bag", label="y")
        bags, y, ids = from_frame(frame, bag="bag", label="y", allow_nan=True,
                                  return_ids=True)
        assert ids.tolist() == ["p9", "p3"] and y.tolist() == [1, 0]
        np.testing.assert_array_equal(bags[1], [[0.3, 3.0]])
        assert np.isnan(bags[0][1, 0])
    with pytest.raises(ValueError, match="no bag id.*row 0"):
        from_frame(pl.DataFrame({"bag": [None, "a"], "f": [1.0, 2.0]}), bag="bag")


def test_dataframe_as_X_points_to_from_frame():
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match="from_frame"):
        check_bags(pd.DataFrame({"a": [1.0]}))


ragged = st.lists(
    st.integers(min_value=1, max_value=6), min_size=1, max_size=12
).flatmap(
    lambda sizes: st.tuples(
        st.just(sizes),
        arrays(
            np.float64,
            (sum(sizes), 3),
            elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        ),
    )
)


@settings(max_examples=60, deadline=None)
@given(ragged)
def test_property_round_trips(data):
    sizes, flat = data
    cuts = np.cumsum(sizes)[:-1]
    bags = np.split(flat, cuts)
    b = check_bags(bags)
    np.testing.assert_array_equal(b.sizes, sizes)
    np.testing.assert_array_equal(b.instances, flat)
    X, ids = to_arrays(bags)
    b2 = from_arrays(X, ids)
    assert b2 == b
    order = np.arange(len(sizes))[::-1]
    taken = b.take(order)
    for i, j in enumerate(order):
        np.testing.assert_array_equal(taken[i], bags[j])


@settings(max_examples=40, deadline=None)
@given(ragged, st.integers(0, 11))
def test_property_any_nan_is_reported_with_its_bag(data, which):
    sizes, flat = data
    bags = [x.copy() for x in np.split(flat, np.cumsum(sizes)[:-1])]
    bad = which % len(bags)
    bags[bad][0, 0] = np.nan
    with pytest.raises(ValueError, match=f"Bag {bad} contains NaN"):
        check_bags(bags)


def test_repr_and_equality():
    b = check_bags(_bags([1, 2]))
    assert "n_bags=2" in repr(b)
    assert b == Bags(b.instances.copy(), b.offsets.copy())
    assert b != check_bags(_bags([1, 2], seed=1))


def test_take_pairwise_slices_rows_and_columns_by_bag():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3))
    offsets = np.array([0, 2, 3, 7, 9])
    K = Bags(X @ X.T, offsets)
    got = K.take_pairwise([3, 1], [0, 2])
    rows = np.r_[7:9, 2:3]
    cols = np.r_[0:2, 3:7]
    np.testing.assert_array_equal(got.instances, (X @ X.T)[np.ix_(rows, cols)])
    np.testing.assert_array_equal(got.offsets, [0, 2, 3])
    assert got.instances.flags.c_contiguous
    mask = np.array([True, False, True, False])
    np.testing.assert_array_equal(K.take_pairwise(mask, mask).instances,
                                  K.take_pairwise([0, 2], [0, 2]).instances)
    with pytest.raises(ValueError, match="square"):
        Bags(X, offsets).take_pairwise([0], [0])
    with pytest.raises(IndexError):
        K.take_pairwise([4], [0])


def test_private_training_copies_carry_their_hashes_and_checks():
    from skmil._inner_cv import bag_hash_keys, canonical_order
    from skmil.svm import SIL

    rng = np.random.default_rng(0)
    bags = [rng.normal(size=(3, 2)) for _ in range(12)]
    y = np.array([0, 1] * 6)
    clf = SIL(kernel="linear", threshold=0.0)
    given = check_bags(bags)
    assert given._hash_keys is None and not given._validated  # a user's bags: nothing kept
    copy, _ = clf._canonical_training_set(given, y)
    assert copy is not given and copy._validated
    fold = copy.take(np.arange(0, 12, 2))
    fresh = Bags(fold.instances.copy(), fold.offsets.copy())
    np.testing.assert_array_equal(bag_hash_keys(fold), bag_hash_keys(fresh))
    np.testing.assert_array_equal(canonical_order(fold, y[:6]), canonical_order(fresh, y[:6]))
    assert fold._validated and not fresh._validated
    # the checks a copy skips still run on bags that did not come from a checked copy
    bad = Bags(fold.instances.copy(), fold.offsets.copy())
    bad.instances[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SIL(kernel="linear").fit(bad, y[:6])
