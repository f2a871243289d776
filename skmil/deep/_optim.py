"""The built-in ``"adam"`` and ``"sgd"`` optimisers: torch's own update, without its class.

:class:`torch.optim.Optimizer` imports ``torch._dynamo`` (torch's compiler) the first
time one of its methods runs: ``step``, ``zero_grad`` and ``add_param_group`` are all
wrapped for it. That import takes about a second, in every new process, which is most of
a small first ``fit``. :class:`FunctionalOptimizer` calls the same functional update
(:func:`torch.optim.adam.adam`, :func:`torch.optim.sgd.sgd`) that ``torch.optim.Adam`` and
``torch.optim.SGD`` call from their ``step``, with the same state, so its parameters
match theirs bit for bit; it only leaves out the class's hooks and compiler wrappers.

A user's :class:`torch.optim.Optimizer` subclass, or any ``optimizer_params``, still
builds the torch class itself.
"""

from __future__ import annotations

import torch
from torch.optim.adam import adam as _adam_update
from torch.optim.sgd import sgd as _sgd_update


class FunctionalOptimizer:
    """Adam or SGD (with momentum and Nesterov) over a fixed list of parameters.

    Parameters
    ----------
    params : list of torch.nn.Parameter
        The parameters to update; one with no gradient in a step is left as it is, as
        torch's optimisers do.
    kind : {"adam", "sgd"}
        The update.
    lr : float
        Step size; ``param_groups[0]["lr"]`` may be changed between steps (lr schedules).
    weight_decay : float
        L2 penalty added to the gradient (torch's coupled weight decay).
    betas : tuple of float, default=(0.9, 0.999)
        Adam's moment decay rates.
    momentum : float, default=0.0
        SGD's momentum.
    nesterov : bool, default=False
        SGD's Nesterov momentum.

    Examples
    --------
    >>> import torch
    >>> w = torch.nn.Parameter(torch.ones(3))
    >>> opt = FunctionalOptimizer([w], "adam", lr=0.1, weight_decay=0.0)
    >>> w.grad = torch.ones(3)
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, 0.9, 0.9]
    """

    def __init__(self, params: list, kind: str, *, lr: float, weight_decay: float,
                 betas: tuple = (0.9, 0.999), momentum: float = 0.0,
                 nesterov: bool = False) -> None:
        self.params = list(params)
        self.kind = kind
        self.param_groups = [{"lr": float(lr)}]
        self.weight_decay = float(weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.fused = True  # torch's fastest kernel; foreach where it has no fused one
        self.state: list[dict] = [{} for _ in self.params]

    def _adam(self, idx: list[int], grads: list) -> None:
        params = [self.params[i] for i in idx]
        states = [self.state[i] for i in idx]
        for p, st in zip(params, states):
            if not st:  # as Adam's lazy initialisation: a float32 step on the device
                st["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        _adam_update(params, grads, [st["exp_avg"] for st in states],
                     [st["exp_avg_sq"] for st in states], [],
                     [st["step"] for st in states], foreach=not self.fused,
                     fused=self.fused, amsgrad=False, beta1=self.betas[0],
                     beta2=self.betas[1], lr=self.param_groups[0]["lr"],
                     weight_decay=self.weight_decay, eps=1e-8, maximize=False)

    def _sgd(self, idx: list[int], grads: list) -> None:
        params = [self.params[i] for i in idx]
        bufs = [self.state[i].get("momentum_buffer") for i in idx]
        _sgd_update(params, grads, bufs, foreach=not self.fused, fused=self.fused,
                    weight_decay=self.weight_decay, momentum=self.momentum,
                    lr=self.param_groups[0]["lr"], dampening=0.0,
                    nesterov=self.nesterov, maximize=False)
        if self.momentum != 0.0:  # the update creates the buffers on the first step
            for i, buf in zip(idx, bufs):
                self.state[i]["momentum_buffer"] = buf

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        idx = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not idx:
            return
        grads = [self.params[i].grad for i in idx]
        update = self._adam if self.kind == "adam" else self._sgd
        if self.fused:
            try:
                update(idx, grads)
                return
            except RuntimeError:  # a device or dtype without a fused kernel
                self.fused = False
        update(idx, grads)

    def state_dict(self) -> dict:
        """The per-parameter state and the lr, as copies (for ``partial_fit``'s resume)."""
        return {"state": [{k: v.clone() for k, v in st.items()} for st in self.state],
                "param_groups": [dict(g) for g in self.param_groups]}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`'s output (of an optimiser of the same kind)."""
        per_param = state["state"]
        if isinstance(per_param, dict):  # torch.optim's layout: state keyed by position
            per_param = [per_param.get(i, {}) for i in range(len(self.params))]
        self.state = [{k: v.clone() for k, v in st.items()} for st in per_param]
        self.param_groups = [dict(g) for g in state["param_groups"]]
