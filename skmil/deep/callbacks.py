"""Training callbacks of the deep MIL estimators (the ``callbacks`` parameter).

A callback sees every epoch of a fit: :meth:`Callback.on_train_begin` before the first,
:meth:`Callback.on_epoch_end` after each one with the epoch's record (the dict appended
to the estimator's ``history_``: ``epoch``, ``train_loss`` and, when a validation split
is held out, ``val_loss``), and :meth:`Callback.on_train_end` after the last.
``on_epoch_end`` returning True stops the fit after that epoch.

The estimator trains a deep copy of the callbacks given to it (so ``clone``, grid
searches and ``n_init`` restarts each start from the user's unfitted objects); the copy
of the run that was kept is the fitted estimator's ``callbacks_``. ``early_stopping=True``
is :class:`EarlyStopping` on the validation loss with ``patience=n_iter_no_change``.

This module does not import torch; the callbacks touch the network only through its
``state_dict``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Callback", "Checkpoint", "EarlyStopping"]


class Callback:
    """Base class of a training callback: every hook does nothing.

    Subclass it and override the hooks you need. ``network`` is the torch module being
    trained (the estimator's ``network_`` after the fit), ``estimator`` the estimator.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import MINet
    >>> from skmil.deep.callbacks import Callback
    >>> class StopBelow(Callback):
    ...     def on_epoch_end(self, estimator, network, record):
    ...         return record["train_loss"] < 0.3
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = MINet(callbacks=[StopBelow()], max_epochs=50, random_state=0).fit(bags, y)
    >>> clf.n_epochs_ <= 50
    True
    """

    @property
    def needs_validation(self) -> bool:
        """Whether the callback reads ``val_loss``.

        The estimator then holds out ``validation_fraction`` of the training bags.
        """
        return False

    def on_train_begin(self, estimator: Any, network: Any) -> None:
        """Called once before the first epoch.

        Parameters
        ----------
        estimator : DeepMILClassifier
            The estimator being fitted.
        network : torch.nn.Module
            The network being trained.
        """

    def on_epoch_end(self, estimator: Any, network: Any, record: dict) -> bool | None:
        """Called after every epoch with its record.

        Parameters
        ----------
        estimator : DeepMILClassifier
            The estimator being fitted.
        network : torch.nn.Module
            The network being trained.
        record : dict
            The epoch's entry of ``history_`` (``epoch``, ``train_loss``, ``val_loss``).

        Returns
        -------
        stop : bool or None
            True stops training after this epoch.
        """
        return None

    def on_train_end(self, estimator: Any, network: Any) -> None:
        """Called once after the last epoch.

        Parameters
        ----------
        estimator : DeepMILClassifier
            The estimator being fitted.
        network : torch.nn.Module
            The network being trained.
        """


def _monitored(record: dict, monitor: str, name: str) -> float:
    if monitor not in record:
        raise ValueError(
            f"{name}(monitor={monitor!r}): the epoch record has no {monitor!r}; it has "
            f"{sorted(record)}. 'val_loss' exists only with a validation split "
            "(validation_fraction > 0)."
        )
    return float(record[monitor])


def _state_copy(network: Any) -> dict:
    return {k: v.detach().clone() for k, v in network.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when a monitored loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str, default="val_loss"
        Key of the epoch record to minimise (``"val_loss"`` or ``"train_loss"``).
    patience : int, default=10
        Epochs without an improvement after which training stops.
    min_delta : float, default=0.0
        Improvements of at most this amount do not count.
    restore_best : bool, default=True
        Load the weights of the best epoch when training ends.

    Attributes
    ----------
    best_epoch_ : int or None
        Epoch (1-based) of the lowest monitored value.
    best_score_ : float
        That value.
    stopped_epoch_ : int or None
        Epoch after which this callback stopped training, None when it did not.

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import MINet
    >>> from skmil.deep.callbacks import EarlyStopping
    >>> bags, y, _ = make_mil_classification(n_bags=60, n_features=5, random_state=0)
    >>> clf = MINet(callbacks=[EarlyStopping(patience=3)], validation_fraction=0.2,
    ...             random_state=0).fit(bags, y)
    >>> clf.callbacks_[0].best_epoch_ <= clf.n_epochs_
    True
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10,
                 min_delta: float = 0.0, restore_best: bool = True) -> None:
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best = restore_best

    @property
    def needs_validation(self) -> bool:
        """Whether ``monitor`` is a validation loss (then a split is held out)."""
        return self.monitor.startswith("val_")

    def on_train_begin(self, estimator: Any, network: Any) -> None:
        if int(self.patience) < 1:
            raise ValueError(f"EarlyStopping(patience={self.patience!r}): use an int >= 1.")
        self.best_epoch_: int | None = None
        self.best_score_ = math.inf
        self.stopped_epoch_: int | None = None
        self._stale = 0
        self._best_state: dict | None = None

    def on_epoch_end(self, estimator: Any, network: Any, record: dict) -> bool:
        value = _monitored(record, self.monitor, "EarlyStopping")
        if value < self.best_score_ - float(self.min_delta):
            self.best_score_, self.best_epoch_, self._stale = value, int(record["epoch"]), 0
            if self.restore_best:
                self._best_state = _state_copy(network)
        else:
            self._stale += 1
        if self._stale >= int(self.patience):
            self.stopped_epoch_ = int(record["epoch"])
            return True
        return False

    def on_train_end(self, estimator: Any, network: Any) -> None:
        if self.restore_best and self._best_state is not None:
            network.load_state_dict(self._best_state)
        self._best_state = None  # the weights live in the network; keep the object small


class Checkpoint(Callback):
    """Keep (and optionally save) the weights of the best epoch so far.

    Unlike :class:`EarlyStopping` it never stops training or changes the final network:
    the best weights are ``best_state_`` (a state dict of CPU tensors), to load with
    ``clf.network_.load_state_dict(cb.best_state_)``, and with ``path`` they are also
    written there with ``torch.save`` whenever they improve.

    Parameters
    ----------
    monitor : str, default="val_loss"
        Key of the epoch record to minimise.
    path : str, path-like or None, default=None
        File the best state dict is saved to; None keeps it in memory only.

    Attributes
    ----------
    best_epoch_ : int or None
        Epoch (1-based) of the lowest monitored value.
    best_score_ : float
        That value.
    best_state_ : dict or None
        The network's state dict at that epoch (CPU tensors).

    Examples
    --------
    >>> from skmil.datasets import make_mil_classification
    >>> from skmil.deep import MINet
    >>> from skmil.deep.callbacks import Checkpoint
    >>> bags, y, _ = make_mil_classification(n_bags=40, n_features=5, random_state=0)
    >>> clf = MINet(callbacks=[Checkpoint(monitor="train_loss")], max_epochs=5,
    ...             random_state=0).fit(bags, y)
    >>> sorted(clf.callbacks_[0].best_state_) == sorted(clf.network_.state_dict())
    True
    """

    def __init__(self, monitor: str = "val_loss", path: Any = None) -> None:
        self.monitor = monitor
        self.path = path

    @property
    def needs_validation(self) -> bool:
        """Whether ``monitor`` is a validation loss (then a split is held out)."""
        return self.monitor.startswith("val_")

    def on_train_begin(self, estimator: Any, network: Any) -> None:
        self.best_epoch_: int | None = None
        self.best_score_ = math.inf
        self.best_state_: dict | None = None

    def on_epoch_end(self, estimator: Any, network: Any, record: dict) -> bool:
        value = _monitored(record, self.monitor, "Checkpoint")
        if value < self.best_score_:
            self.best_score_, self.best_epoch_ = value, int(record["epoch"])
            self.best_state_ = {k: v.cpu() for k, v in _state_copy(network).items()}
            if self.path is not None:
                import torch

                torch.save(self.best_state_, self.path)
        return False


# the hooks of the built-in callbacks are documented once, on Callback
for _cls in (EarlyStopping, Checkpoint):
    for _name in ("on_train_begin", "on_epoch_end", "on_train_end"):
        _hook = vars(_cls).get(_name)
        if _hook is not None and _hook.__doc__ is None:
            _hook.__doc__ = getattr(Callback, _name).__doc__
