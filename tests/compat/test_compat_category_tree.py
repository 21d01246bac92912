"""ndsampler 0.8.1's CategoryTree: kwcoco's tree plus hierarchical softmax, losses and decisions."""
import math

import kwcoco
import networkx as nx
import numpy as np
import pytest

from ndsampler.category_tree import CategoryTree

torch = pytest.importorskip('torch')


@pytest.fixture
def tree():
    """animal -> (cat, dog), and rock: class order animal, rock, cat, dog; sibling groups (animal, rock), (cat, dog)."""
    tree = CategoryTree(nx.from_dict_of_lists({'animal': ['cat', 'dog'], 'rock': []}, nx.DiGraph))
    assert tree.idx_to_node == ['animal', 'rock', 'cat', 'dog']
    return tree


def _energy(tree, **values):
    return torch.tensor([[values[node] for node in tree.idx_to_node]], dtype=torch.float64)


def test_is_kwcocos_tree(tree):
    assert isinstance(tree, kwcoco.CategoryTree)
    demo = CategoryTree.demo('btree', r=2, h=2, add_zero=False)
    assert isinstance(demo, CategoryTree) and len(demo) == 7
    assert isinstance(CategoryTree.coerce(['a', 'b']), CategoryTree)


def test_source_softmax_values(tree):
    # P(animal) = 3/4, P(rock) = 1/4; P(cat | animal) = 1/4, P(dog | animal) = 3/4
    energy = _energy(tree, animal=math.log(3), rock=0.0, cat=0.0, dog=math.log(3))
    probs = tree.hierarchical_softmax(energy, dim=1)
    np.testing.assert_allclose(probs.numpy(), [[3 / 4, 1 / 4, 3 / 16, 9 / 16]])
    np.testing.assert_allclose(tree.graph_softmax(energy, dim=1).numpy(), probs.numpy())
    np.testing.assert_allclose(tree.graph_log_softmax(energy, dim=-1).exp().numpy(), probs.numpy())
    cond = tree.conditional_log_softmax(energy, dim=1).exp()
    np.testing.assert_allclose(cond.numpy(), [[3 / 4, 1 / 4, 1 / 4, 3 / 4]])


def test_sink_softmax_values(tree):
    # one softmax over the leaves rock, cat, dog (energies 0, 0, ln 3): 1/5, 1/5, 3/5; animal = cat + dog
    energy = _energy(tree, animal=100.0, rock=0.0, cat=0.0, dog=math.log(3))
    probs = tree.sink_log_softmax(energy, dim=1).exp()
    np.testing.assert_allclose(probs.numpy(), [[4 / 5, 1 / 5, 1 / 5, 3 / 5]])


@pytest.mark.parametrize('method', ['source_log_softmax', 'sink_log_softmax'])
def test_parents_sum_children_on_a_random_tree(method):
    tree = CategoryTree(nx.generators.gnr_graph(15, 0.3, seed=5).reverse())
    energy = torch.randn(2, len(tree), 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    probs = getattr(tree, method)(energy, dim=1).exp()
    for node in tree.idx_to_node:
        children = [tree.node_to_idx[c] for c in tree.graph.successors(node)]
        if children:
            torch.testing.assert_close(probs[:, children].sum(dim=1), probs[:, tree.node_to_idx[node]])
    roots = [tree.node_to_idx[n] for n in tree.graph if tree.graph.in_degree(n) == 0]
    torch.testing.assert_close(probs[:, roots].sum(dim=1), torch.ones(2, 3, dtype=torch.float64))


def test_losses(tree):
    energy = _energy(tree, animal=math.log(3), rock=0.0, cat=0.0, dog=math.log(3)).repeat(2, 1)
    energy.requires_grad_(True)
    targets = torch.tensor([tree.node_to_idx['cat'], tree.node_to_idx['animal']])
    loss = tree.hierarchical_cross_entropy(energy, targets, reduction='none')
    np.testing.assert_allclose(loss.detach().numpy(), [-math.log(3 / 16), -math.log(3 / 4)])
    logprobs = tree.hierarchical_log_softmax(energy, dim=1)
    nll = tree.hierarchical_nll_loss(logprobs, targets)
    np.testing.assert_allclose(nll.item(), loss.mean().item())
    nll.backward()
    grad = energy.grad.numpy()
    cat, dog = tree.node_to_idx['cat'], tree.node_to_idx['dog']
    assert np.all(grad[0, [cat, dog]] != 0)
    assert np.all(grad[1, [cat, dog]] == 0)  # a coarse target says nothing about the finer classes


@pytest.fixture
def probs(tree):
    return np.array([[3 / 4, 1 / 4, 3 / 16, 9 / 16]])


def test_decision_by_probability(tree, probs):
    idxs, conf = tree.decision(probs, dim=1, criterion='prob', thresh=0.5)
    assert [tree.idx_to_node[i] for i in idxs] == ['dog'] and conf.tolist() == [9 / 16]
    idxs, conf = tree.decision(probs, dim=1, criterion='prob', thresh=0.6)
    assert [tree.idx_to_node[i] for i in idxs] == ['animal'] and conf.tolist() == [3 / 4]


@pytest.mark.parametrize('criterion, simplicity', [('gini', 1 - 0.5859375 / 0.65625), ('entropy', 0.0907)])
def test_decision_by_impurity(tree, probs, criterion, simplicity):
    # refining animal into (cat, dog) next to rock: impurity of (1/4, 3/16, 9/16) against the worst case
    # (1/4, 3/8, 3/8); the item goes down to dog only when the relative drop exceeds thresh
    below, above = simplicity - 0.005, simplicity + 0.005
    idxs, conf = tree.decision(probs, dim=1, criterion=criterion, thresh=below)
    assert [tree.idx_to_node[i] for i in idxs] == ['dog'] and conf.tolist() == [9 / 16]
    idxs, conf = tree.decision(probs, dim=1, criterion=criterion, thresh=above)
    assert [tree.idx_to_node[i] for i in idxs] == ['animal']


def test_decision_options(tree, probs):
    idxs, _ = tree.decision(probs, dim=1, thresh=0.99, always_refine_idxs=[tree.node_to_idx['animal']])
    assert tree.idx_to_node[idxs[0]] == 'dog'
    idxs, conf = tree.decision(probs, dim=1, thresh=0.99, ignore_class_idxs=[tree.node_to_idx['dog']])
    assert tree.idx_to_node[idxs[0]] == 'cat' and conf.tolist() == [3 / 16]  # one child left: always refined
    with pytest.raises(ValueError, match='ignore'):
        tree.decision(probs, dim=1, ignore_class_idxs=[0, 1])
    with pytest.raises(ValueError, match='criterion'):
        tree.decision(probs, dim=1, criterion='coin')


def test_decision_on_tensors_and_other_dims(tree, probs):
    idxs, conf = tree.decision(torch.from_numpy(probs), dim=1, criterion='prob', thresh=0.5)
    assert isinstance(conf, torch.Tensor) and tree.idx_to_node[idxs[0]] == 'dog'
    stacked = np.stack([probs[0], probs[0][[0, 1, 3, 2]]], axis=1)  # classes along dim 0
    idxs, _ = tree.decision(stacked, dim=0, criterion='prob', thresh=0.5)
    assert [tree.idx_to_node[i] for i in idxs] == ['dog', 'cat']


def test_demo_probs():
    tree = CategoryTree.demo('btree', r=3, h=3)
    probs = tree._demo_probs(num=6, nonrandom=4)
    assert probs.shape == (6, len(tree))
    idxs, _ = tree.decision(probs, dim=1, thresh=0.1)
    path = nx.dag_longest_path(tree.graph)
    assert tree.idx_to_node[idxs[3]] == path[-1]  # the row pushed hardest along the path reaches its leaf


def test_deprecated_misspellings(tree):
    energy = _energy(tree, animal=math.log(3), rock=0.0, cat=0.0, dog=math.log(3))
    with pytest.warns(DeprecationWarning, match='hierarchical_softmax'):
        probs = tree.heirarchical_softmax(energy, dim=1)
    np.testing.assert_allclose(probs.numpy(), tree.hierarchical_softmax(energy, dim=1).numpy())
    targets = torch.tensor([tree.node_to_idx['dog']])
    with pytest.warns(DeprecationWarning):
        loss = tree.heirarchical_cross_entropy(energy, targets)
    np.testing.assert_allclose(loss.item(), -math.log(9 / 16))


def test_probability_decision_refines_the_right_items(tree):
    """Only the confident item is refined, in its own row (0.8.1 wrote the refinement into the row at the
    position the item had among the confident ones: here item 0)."""
    probs = np.array([[0.55, 0.45, 0.30, 0.25],   # animal, not confident at thresh 0.6: stays animal
                      [0.90, 0.10, 0.80, 0.10]])  # animal, confident: refined to cat
    idxs, conf = tree.decision(probs, dim=1, criterion='prob', thresh=0.6)
    assert [tree.idx_to_node[i] for i in idxs] == ['animal', 'cat'] and conf.tolist() == [0.55, 0.80]
