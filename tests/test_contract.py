"""The estimator contract (:mod:`skmil.utils.estimator_checks`) on every registered estimator.

Fast settings for the contract run live here, on the test side: small iteration counts
and codebooks, so the whole registry runs in minutes. Everything else is the library's
own default, with ``random_state=0`` where the estimator has one.
"""

from __future__ import annotations

from skmil.utils import all_estimators
from skmil.utils.estimator_checks import parametrize_with_checks

#: Per-estimator settings for speed (never to make a check pass).
FAST_PARAMS: dict[str, dict] = {
    "MIGraph": {"C": 10.0},
    "MIGraphExplicit": {"C": 10.0},
    "EMDSVM": {"signature": "kmeans", "n_clusters": 3},
    "VLADEncoder": {"n_clusters": 4},
    "MiVLAD": {"n_clusters": 4},
    "FisherVectorEncoder": {"n_clusters": 3},
    "MiFV": {"n_clusters": 3},
    "BagOfWords": {"n_clusters": 4},
    "BagOfWordsClassifier": {"n_clusters": 4, "C": 1.0},
    "SparseTransductiveMIL": {"max_iter": 3},
    "MICA": {"max_iter": 3},
    "MIForest": {"n_estimators": 10},
    "InstanceMISVM": {"C": 1.0},
    "MISVM": {"C": 1.0},
    "DiverseDensity": {"n_init": 5, "max_fun": 100},
    "EMDD": {"n_pos_bags_init": 1, "max_fun": 50, "max_iter": 10, "tol": 1e-6},
    "EMDDRegressor": {"n_starts": 1, "max_fun": 50, "max_iter": 10, "tol": 1e-6},
    "DeepMILClassifier": {"hidden_layer_sizes": (16,), "lr": 3e-2, "max_epochs": 6,
                          "batch_size": 10, "validation_fraction": 0.0, "dropout": 0.0},
    "AttentionMIL": {"hidden_layer_sizes": (16,), "lr": 3e-2, "max_epochs": 6,
                     "batch_size": 10, "validation_fraction": 0.0, "dropout": 0.0},
    "GatedAttentionMIL": {"hidden_layer_sizes": (16,), "lr": 3e-2, "max_epochs": 6,
                          "batch_size": 10, "validation_fraction": 0.0, "dropout": 0.0},
    "InstanceMINet": {"hidden_layer_sizes": (16,), "optimizer": "adam", "lr": 3e-2,
                      "max_epochs": 6, "batch_size": 10, "validation_fraction": 0.0,
                      "dropout": 0.0},
    "MINet": {"hidden_layer_sizes": (16,), "optimizer": "adam", "lr": 3e-2, "max_epochs": 6,
              "batch_size": 10, "validation_fraction": 0.0, "dropout": 0.0},
    "MINetDS": {"hidden_layer_sizes": (16, 8), "optimizer": "adam", "lr": 3e-2,
                "max_epochs": 6, "batch_size": 10, "validation_fraction": 0.0, "dropout": 0.0},
    "MINetRC": {"hidden_layer_sizes": (16, 16), "optimizer": "adam", "lr": 3e-2,
                "max_epochs": 6, "batch_size": 10, "validation_fraction": 0.0, "dropout": 0.0},
    "DSMIL": {"lr": 3e-2, "max_epochs": 15, "batch_size": 10, "validation_fraction": 0.0},
    "DeepMILRegressor": {"hidden_layer_sizes": (16,), "lr": 3e-2, "max_epochs": 30,
                         "batch_size": 10, "dropout": 0.0},
}


def _instance(name, cls):
    est = cls()
    params = {k: v for k, v in FAST_PARAMS.get(name, {}).items() if k in est.get_params()}
    if "random_state" in est.get_params():
        params.setdefault("random_state", 0)
    return est.set_params(**params)


ESTIMATORS = [_instance(name, cls) for name, cls in all_estimators()]


def test_registry_is_not_empty():
    names = {type(e).__name__ for e in ESTIMATORS}
    for expected in ("SIL", "BagStatistics", "InstanceTransformer", "SimpleMI"):
        assert expected in names


def test_registry_lists_each_class_once():
    classes = [type(e) for e in ESTIMATORS]
    assert len(classes) == len(set(classes))


@parametrize_with_checks(ESTIMATORS)
def test_contract(estimator, check):
    check(estimator)


def _approximate(cls, solver):
    return cls(kernel_approximation="nystroem", n_components=32, solver=solver,
               random_state=0)


#: The bag kernels' ``kernel_approximation`` path fits another model (a linear one on
#: bag features, by libsvm on their Gram matrix or by a primal solver), so it goes
#: through the whole contract too, with each solver.
APPROXIMATE = [_approximate(cls, solver) for name, cls in all_estimators()
               if name in ("MIKernelSVM", "MIKernelSVR", "MIGraph", "MIGraphSVR")
               for solver in ("libsvm", "primal")]


def test_every_bag_kernel_approximation_is_checked():
    assert len(APPROXIMATE) == 8


@parametrize_with_checks(APPROXIMATE)
def test_contract_kernel_approximation(estimator, check):
    check(estimator)
