"""skmil: scikit-learn compatible multiple-instance learning.

A *bag* is a 2-D array ``(n_instances, n_features)``; a data set is a list of bags with
one label per bag. Every estimator follows scikit-learn's API (``fit``, ``predict``,
``decision_function``, ``clone``, ``Pipeline``, ``GridSearchCV``) and, where the model has
one, adds ``predict_instances`` / ``decision_function_instances``.

Importing ``skmil`` is cheap: estimators live in their family subpackages
(``skmil.svm``, ``skmil.embedding``, ...), numba kernels compile on first use, and torch
is imported only by ``skmil.deep``.
"""

from .bags import Bags, check_bags, from_arrays, from_frame, to_arrays, to_frame

__version__ = "0.2.0.dev0"

__all__ = [
    "Bags",
    "check_bags",
    "from_arrays",
    "from_frame",
    "to_arrays",
    "to_frame",
    "__version__",
]
