"""kwcoco's ``CategoryTree`` plus hierarchical softmax, losses and decisions (ndsampler 0.8's ``CategoryTree``).

The class is ``kwcoco.CategoryTree`` (same graph, indexes, ``coerce`` / ``demo``) with methods
that turn per-class network outputs into probabilities that respect the hierarchy: a node's
probability is the product of the conditional probabilities along its path from the root,
each conditional a softmax over the node and its siblings ("source" or top-down), or the
sum of its leaves' probabilities under one softmax over all leaves ("sink" or bottom-up).

The tensor methods use torch, imported inside each method: ``import ndsampler`` never
imports torch. :meth:`CategoryTree.decision` also takes numpy arrays and needs no torch.

Example
-------
>>> import networkx as nx
>>> tree = CategoryTree(nx.from_dict_of_lists({'animal': ['cat', 'dog'], 'rock': []}, nx.DiGraph))
>>> tree.idx_to_node
['animal', 'rock', 'cat', 'dog']
>>> probs = np.array([[0.9, 0.1, 0.85, 0.05]])
>>> idxs, conf = tree.decision(probs, dim=1, criterion='prob', thresh=0.5)
>>> [tree.idx_to_node[i] for i in idxs], conf.round(2).tolist()
(['cat'], [0.85])
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Iterable, Sequence

import kwcoco
import numpy as np

__all__ = ['CategoryTree', 'gini', 'entropy', 'source_nodes', 'sink_nodes']


def source_nodes(graph) -> Iterable[Any]:
    """Nodes without a parent (the roots of the forest)."""
    return (node for node in graph.nodes() if graph.in_degree(node) == 0)


def sink_nodes(graph) -> Iterable[Any]:
    """Nodes without a child (the leaves)."""
    return (node for node in graph.nodes() if graph.out_degree(node) == 0)


def gini(probs: Any, axis: int = 1, impl: Any = np) -> Any:
    """Gini impurity ``1 - sum(p ** 2)`` along ``axis`` (a cheap stand-in for entropy).

    ``impl`` is ``numpy`` or a ``kwarray.ArrayAPI`` implementation (for torch tensors).

    Example
    -------
    >>> gini(np.array([[0.5, 0.5], [1.0, 0.0]])).tolist()
    [0.5, 0.0]
    """
    return 1 - impl.sum(probs ** 2, axis=axis)


def entropy(probs: Any, axis: int = 1, impl: Any = np) -> Any:
    """Shannon entropy in bits along ``axis`` (``0 log 0 = 0``).

    Example
    -------
    >>> entropy(np.array([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]])).round(3).tolist()
    [1.0, 0.811, -0.0]
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        logs = impl.nan_to_num(impl.log2(probs), copy=False)
    return -impl.sum(probs * logs, axis=axis)


_CRITERIA: dict[str, Callable] = {'gini': gini, 'entropy': entropy}


def _to_numpy(array: Any) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
    """A numpy view of an array or tensor, and how to turn a numpy result back into the input's kind."""
    if isinstance(array, np.ndarray):
        return array, lambda out: out
    if type(array).__module__.startswith('torch'):
        import torch
        device = array.device
        return array.detach().cpu().numpy(), lambda out: torch.from_numpy(np.asarray(out)).to(device)
    return np.asarray(array), lambda out: out


class CategoryTree(kwcoco.CategoryTree):
    """``kwcoco.CategoryTree`` with hierarchical softmax, losses and decisions (see the module doc).

    Class scores are indexed by ``self.idx_to_node`` along the class dimension ``dim``.
    """

    # -- torch: probabilities -------------------------------------------------------------
    def _paths(self) -> list[list[int]]:
        """For each class index, the indexes of the node and all its ancestors."""
        import networkx as nx
        return [sorted(self.node_to_idx[n] for n in nx.ancestors(self.graph, node) | {node})
                for node in self.idx_to_node]

    def conditional_log_softmax(self, class_energy: Any, dim: int) -> Any:
        """log P(node | parent): a log-softmax over each group of siblings (``self.idx_groups``).

        The probabilities of each sibling group sum to one, so along ``dim`` the
        exponentials sum to ``len(self.idx_groups)``.
        """
        import torch
        out = torch.empty_like(class_energy)
        if class_energy.numel() == 0:
            return out
        for group in self.idx_groups:
            index = torch.as_tensor(group, dtype=torch.long, device=class_energy.device)
            part = torch.index_select(class_energy, dim, index)
            out.index_copy_(dim, index, torch.log_softmax(part, dim=dim))
        return out

    def _apply_logprob_chain_rule(self, cond_logprobs: Any, dim: int) -> Any:
        """log P(node) = sum of log P(a | parent(a)) over the node and its ancestors."""
        import torch
        if cond_logprobs.numel() == 0:
            return torch.empty_like(cond_logprobs)
        moved = cond_logprobs.movedim(dim, -1)
        parts = [moved[..., path].sum(dim=-1) for path in self._paths()]
        return torch.stack(parts, dim=-1).movedim(-1, dim)

    def source_log_softmax(self, class_energy: Any, dim: int) -> Any:
        """Top-down hierarchical log-softmax: conditional log-softmax per sibling group, then the chain rule.

        A parent's probability equals the sum of its children's.
        """
        dim = dim % class_energy.ndim
        return self._apply_logprob_chain_rule(self.conditional_log_softmax(class_energy, dim), dim)

    def sink_log_softmax(self, class_energy: Any, dim: int) -> Any:
        """Bottom-up hierarchical log-softmax: one log-softmax over the leaves, an inner node the log-sum of its leaves.

        Only the leaves' energies matter.
        """
        import networkx as nx
        import torch
        dim = dim % class_energy.ndim
        leaves = set(sink_nodes(self.graph))
        leaf_idxs = sorted(self.node_to_idx[n] for n in leaves)
        moved = class_energy.movedim(dim, -1)
        leaf_logp = torch.log_softmax(moved[..., leaf_idxs], dim=-1)
        column = {idx: k for k, idx in enumerate(leaf_idxs)}
        parts = []
        for node in self.idx_to_node:
            under = (nx.descendants(self.graph, node) | {node}) & leaves
            cols = sorted(column[self.node_to_idx[n]] for n in under)
            parts.append(torch.logsumexp(leaf_logp[..., cols], dim=-1))
        return torch.stack(parts, dim=-1).movedim(-1, dim)

    hierarchical_log_softmax = source_log_softmax

    def graph_log_softmax(self, class_energy: Any, dim: int) -> Any:
        """Same as :meth:`hierarchical_log_softmax`."""
        return self.hierarchical_log_softmax(class_energy, dim)

    def hierarchical_softmax(self, class_energy: Any, dim: int) -> Any:
        """Absolute class probabilities: ``exp(hierarchical_log_softmax(...))``."""
        return self.hierarchical_log_softmax(class_energy, dim).exp()

    graph_softmax = hierarchical_softmax

    # -- torch: losses --------------------------------------------------------------------
    def hierarchical_nll_loss(self, class_logprobs: Any, targets: Any) -> Any:
        """Negative log-likelihood of each target's (finest known) class under hierarchical log-probabilities.

        Because a node's log-probability already sums its path from the root, a target
        given at a coarse node gives no gradient to the classes below it.
        """
        import torch
        return torch.nn.functional.nll_loss(class_logprobs, targets)

    def hierarchical_cross_entropy(self, class_energy: Any, targets: Any, reduction: str = 'mean') -> Any:
        """:meth:`hierarchical_log_softmax` over ``dim=1`` followed by the NLL loss."""
        import torch
        logprobs = self.hierarchical_log_softmax(class_energy, dim=1)
        return torch.nn.functional.nll_loss(logprobs, targets, reduction=reduction)

    # -- decisions (numpy or torch) -------------------------------------------------------
    def _flat_probs(self, class_probs: Any, dim: int) -> tuple[np.ndarray, Callable]:
        probs, back = _to_numpy(class_probs)
        return np.moveaxis(probs, dim, -1).reshape(-1, probs.shape[dim]), back

    def decision(self, class_probs: Any, dim: int, thresh: float = 0.5, criterion: str = 'gini',
                 ignore_class_idxs: Sequence[int] | None = None,
                 always_refine_idxs: Sequence[int] | None = None) -> tuple[np.ndarray, Any]:
        """The finest class each item can be given with confidence, descending from the roots.

        At each level the most probable class among the candidates is taken; an item then
        moves to that class's children when the split is "simple": replacing the class by
        its children lowers the impurity (``criterion``) of the level's distribution by more
        than ``thresh`` relative to the worst case (the class's probability spread evenly
        over its children). A class with one child is always refined.

        Parameters
        ----------
        class_probs : ndarray | Tensor
            Absolute class probabilities (e.g. :meth:`hierarchical_softmax`).
        dim : int
            The class dimension.
        thresh : float
            Larger keeps coarser classes (``criterion='prob'``: the least probability a
            finer class needs to be chosen).
        criterion : str
            ``'gini'``, ``'entropy'`` or ``'prob'``.
        ignore_class_idxs : list of int, optional
            Classes never predicted (as if absent from the tree); ignoring every root is a
            ``ValueError``.
        always_refine_idxs : list of int, optional
            Classes always refined into a child (e.g. a dummy root).

        Returns
        -------
        (ndarray of int, ndarray | Tensor)
            Predicted class index and its probability per item (the input's other
            dimensions flattened); the confidence is of the input's kind.
        """
        if criterion == 'prob':
            return self._prob_decision(class_probs, dim, thresh=thresh)
        if criterion not in _CRITERIA:
            from ndsampler.errors import InvalidOptionError
            raise InvalidOptionError('criterion', criterion, ['gini', 'entropy', 'prob'])
        impurity = _CRITERIA[criterion]
        flat, back = self._flat_probs(class_probs, dim)
        ignored = set(ignore_class_idxs or [])
        ignored_nodes = {self.idx_to_node[i] for i in ignored}
        always = set(always_refine_idxs or [])

        def refine(nodes: Iterable[Any], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            idxs = sorted({self.node_to_idx[n] for n in nodes} - ignored)
            if not idxs:
                raise ValueError(f'ignore_class_idxs={sorted(ignored)} ignores every root class; keep at least one')
            level = flat[rows][:, idxs]
            best = level.argmax(axis=1)
            pred = np.asarray(idxs)[best]
            conf = level[np.arange(len(rows)), best]
            for idx in np.unique(pred).tolist():
                children = sorted(set(self.graph.successors(self.idx_to_node[idx])) - ignored_nodes)
                if not children:
                    continue
                at = np.flatnonzero(pred == idx)
                probs = flat[rows[at]]
                child_idxs = sorted(self.node_to_idx[c] for c in children)
                others = [i for i in idxs if i != idx]
                spread = np.repeat(probs[:, idx:idx + 1] / len(child_idxs), len(child_idxs), axis=1)
                h_split = impurity(probs[:, others + child_idxs], axis=1)
                h_worst = impurity(np.hstack([probs[:, others], spread]), axis=1)
                go = (1 - h_split / (h_worst + 1e-30)) > thresh
                if idx in always or len(child_idxs) == 1:
                    go[:] = True
                if go.any():
                    pred[at[go]], conf[at[go]] = refine(children, rows[at[go]])
            return pred, conf

        pred, conf = refine(source_nodes(self.graph), np.arange(len(flat)))
        return pred, back(conf)

    def _prob_decision(self, class_probs: Any, dim: int, thresh: float = 0.1) -> tuple[np.ndarray, Any]:
        """Descend to the most probable child while its probability is above ``thresh``."""
        flat, back = self._flat_probs(class_probs, dim)

        def descend(nodes: Iterable[Any], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            idxs = sorted(self.node_to_idx[n] for n in nodes)
            level = flat[rows][:, idxs]
            best = level.argmax(axis=1)
            pred = np.asarray(idxs)[best]
            conf = level[np.arange(len(rows)), best]
            sure = conf > thresh
            for idx in np.unique(pred[sure]).tolist():
                children = list(self.graph.successors(self.idx_to_node[idx]))
                if not children:
                    continue
                at = np.flatnonzero(sure & (pred == idx))
                sub_pred, sub_conf = descend(children, rows[at])
                finer = sub_conf > thresh
                pred[at[finer]], conf[at[finer]] = sub_pred[finer], sub_conf[finer]
            return pred, conf

        pred, conf = descend(source_nodes(self.graph), np.arange(len(flat)))
        return pred, back(conf)

    def _demo_probs(self, num: int = 5, rng: Any = 0, nonrandom: int = 3, hackargmax: bool = True) -> Any:
        """Hierarchical probabilities (a torch tensor) of random energies, the first rows leaning ever more
        towards the classes on the tree's longest path (row 0 near-uniform, ties broken by a tiny ramp)."""
        import kwarray
        import networkx as nx
        import torch
        rng = kwarray.ensure_rng(rng)
        energy = torch.FloatTensor(rng.rand(num, len(self)))
        nonrandom = min(nonrandom, num)
        if nonrandom > 0:
            path = sorted(self.node_to_idx[n] for n in nx.dag_longest_path(self.graph))
            energy[0] = 1 / energy.shape[1]
            if hackargmax:
                energy[0] += torch.linspace(0, 1e-5, energy.shape[1])
            for row in range(1, nonrandom):
                energy[row, path] += 2 ** 20 if row == nonrandom - 1 else 2 ** ((row - 1) / 4)
        return self.hierarchical_softmax(energy, dim=1)


def _renamed(new_name: str, old_name: str) -> Callable:
    """A method under a name 0.8 deprecated (a misspelling), warning and calling ``new_name``."""
    def method(self, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(f'CategoryTree.{old_name} is deprecated; use {new_name}', DeprecationWarning, stacklevel=2)
        return getattr(self, new_name)(*args, **kwargs)
    method.__name__ = old_name
    method.__doc__ = f'Deprecated name of :meth:`{new_name}`.'
    return method


for _old, _new in [('heirarchical_softmax', 'hierarchical_softmax'),
                   ('heirarchical_log_softmax', 'hierarchical_log_softmax'),
                   ('heirarchical_cross_entropy', 'hierarchical_cross_entropy'),
                   ('heirarchical_nll_loss', 'hierarchical_nll_loss'),
                   ('_apply_logit_chain_rule', '_apply_logprob_chain_rule')]:
    setattr(CategoryTree, _old, _renamed(_new, _old))
del _old, _new
