//! The kernel plan of a fixed-rank einsum: the steps the generated code runs, decided at compile
//! time.
//!
//! A contraction of `n` tensors (each with distinct labels: a repeated label of a term is one
//! diagonal slot) into an output runs as
//! 1. one *reduction* step per tensor that has labels no other tensor and not the output has (they
//!    are summed first, in a pass linear in that tensor);
//! 2. then, for one tensor, one step into the output; for two, one pairwise step; for three or four,
//!    every pairwise order (3 and 15 binary trees), each with its cost as a formula in the extents,
//!    the cheapest chosen at run time.
//!
//! A pairwise step groups its labels as XLA's dot does: *batch* (both operands and the result),
//! *left* / *right* (one operand and the result) and *summed* (both operands, not the result). The
//! grouping decides whether the step can run as a batched GEMM; its loop nest is also fixed here:
//! the result's labels outermost in the result's (row-major) order, then the summed labels, and
//! innermost the label that most tensors have as their last (unit-stride under a row-major layout)
//! axis.

/// Tensors are numbered: the contraction's inputs first, then each step's result.
pub type TensorId = usize;

/// One step: `out[labels] += Σ Π inputs` over the labels `out` lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// One or two tensors.
    pub inputs: Vec<TensorId>,
    /// The tensor this step creates (row-major, zero-filled, then accumulated into).
    pub out: TensorId,
    /// The loops, outermost first; the last one is the lanes the primitives run (none for a 0-d step).
    pub loops: Vec<char>,
    /// For a pairwise step whose left, right and summed groups are all non-empty: the grouping.
    pub gemm: Option<Groups>,
    /// For a single-input step that permutes (its input's last label is not the innermost one but is
    /// kept): that label. The loops then run in tiles, so that both the reads along it and the
    /// writes along the innermost label stay in cache (a blocked transpose).
    pub tile: Option<char>,
}

/// The labels of a pairwise step by role, each group in one order shared by the tensors that have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    pub batch: Vec<char>,
    pub left: Vec<char>,
    pub right: Vec<char>,
    pub summed: Vec<char>,
}

/// A sequence of steps whose last one creates the contraction's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub steps: Vec<Step>,
    /// Per step, the labels whose extents multiply to its cost (the index volume it loops over).
    pub costs: Vec<Vec<char>>,
}

/// Everything the generated code of one contraction runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contraction {
    /// Every tensor's labels (slot order), indexed by [`TensorId`].
    pub tensors: Vec<Vec<char>>,
    /// The reductions of step 1, run before any order.
    pub reductions: Vec<Step>,
    /// One order, or the candidates among which the run time picks the cheapest.
    pub orders: Vec<Order>,
    /// How many pairwise orders there are: `orders` keeps those that can be the cheapest.
    pub enumerated: usize,
}

impl Contraction {
    /// The tensor a reduction replaced input `i` with, or `i` itself.
    fn current(&self, i: TensorId) -> TensorId {
        self.reductions
            .iter()
            .find(|s| s.inputs == [i])
            .map_or(i, |s| s.out)
    }
}

/// The most operands whose pairwise orders the macro enumerates; more go to the run-time executor.
pub const MAX_ENUMERATED: usize = 4;

/// Plans `out = einsum(inputs)`; every label of `out` is in some input, and `inputs.len()` is between
/// 1 and [`MAX_ENUMERATED`].
pub fn plan_contraction(inputs: &[Vec<char>], out: &[char]) -> Contraction {
    assert!((1..=MAX_ENUMERATED).contains(&inputs.len()));
    let mut c = Contraction {
        tensors: inputs.to_vec(),
        reductions: Vec::new(),
        orders: Vec::new(),
        enumerated: 0,
    };
    let n = inputs.len();
    if n > 1 {
        for i in 0..n {
            let needed =
                |l: &char| out.contains(l) || (0..n).any(|j| j != i && inputs[j].contains(l));
            let kept: Vec<char> = inputs[i].iter().copied().filter(needed).collect();
            if kept.len() < inputs[i].len() {
                let id = c.tensors.len();
                c.tensors.push(kept.clone());
                c.reductions.push(step(&c.tensors, vec![i], id, &kept));
            }
        }
    }
    let current: Vec<TensorId> = (0..n).map(|i| c.current(i)).collect();
    let mut orders = Vec::new();
    for tree in trees(&current) {
        let mut tensors = c.tensors.clone();
        let mut order = Order {
            steps: Vec::new(),
            costs: Vec::new(),
        };
        emit_tree(&tree, out, &current, &mut tensors, &mut order, true);
        // The orders share one table of tensors, each order's new ones above the previous order's.
        c.tensors = tensors;
        orders.push(order);
    }
    c.enumerated = orders.len();
    c.orders = candidates(orders);
    c
}

/// The orders that can be the cheapest for some extents: an order that another never costs more
/// than, whatever the extents, is dropped (of two that always cost the same, the first stays). The
/// run time would never pick a dropped order (its choice takes the first of the cheapest), so this
/// changes nothing at run time; it keeps out of the expansion code that could never run. For
/// `ij,jk,kl->il`, the order that first forms the outer product of `ij` and `kl` (cost
/// `|i||j||k||l|` twice) always costs at least as much as `(ij·jk)·kl` (`|i||j||k| + |i||k||l|`).
fn candidates(orders: Vec<Order>) -> Vec<Order> {
    let dropped: Vec<bool> = (0..orders.len())
        .map(|a| {
            (0..orders.len()).any(|b| {
                b != a
                    && never_costlier(&orders[b], &orders[a])
                    && (b < a || !never_costlier(&orders[a], &orders[b]))
            })
        })
        .collect();
    orders
        .into_iter()
        .zip(dropped)
        .filter_map(|(o, d)| (!d).then_some(o))
        .collect()
}

/// Whether order `b` costs at most what order `a` costs for all extents of at least 1: each term of
/// `b`'s cost (a product of extents) divides a different term of `a`'s, that is, its labels are a
/// subset of that term's. (A sum of such terms is then term by term at most `a`'s.)
fn never_costlier(b: &Order, a: &Order) -> bool {
    fn assign(b: &[Vec<char>], a: &[Vec<char>], used: &mut Vec<bool>) -> bool {
        let Some((first, rest)) = b.split_first() else {
            return true;
        };
        for k in 0..a.len() {
            if !used[k] && first.iter().all(|l| a[k].contains(l)) {
                used[k] = true;
                if assign(rest, a, used) {
                    return true;
                }
                used[k] = false;
            }
        }
        false
    }
    b.costs.len() <= a.costs.len() && assign(&b.costs, &a.costs, &mut vec![false; a.costs.len()])
}

/// A binary tree over tensors: a leaf, or the pairing of two subtrees.
#[derive(Debug, Clone)]
enum Tree {
    Leaf(TensorId),
    Pair(Box<Tree>, Box<Tree>),
}

/// Every binary tree with the given leaves, each once (up to swapping a pair's two sides).
fn trees(leaves: &[TensorId]) -> Vec<Tree> {
    if leaves.len() == 1 {
        return vec![Tree::Leaf(leaves[0])];
    }
    let mut all = Vec::new();
    // Split into two non-empty parts; the part with the first leaf goes left, so each split is once.
    let rest = leaves.len() - 1;
    for mask in 0..(1u32 << rest) {
        let mut left = vec![leaves[0]];
        let mut right = Vec::new();
        for (k, &leaf) in leaves[1..].iter().enumerate() {
            if mask & (1 << k) != 0 {
                left.push(leaf);
            } else {
                right.push(leaf);
            }
        }
        if right.is_empty() {
            continue;
        }
        for l in trees(&left) {
            for r in trees(&right) {
                all.push(Tree::Pair(Box::new(l.clone()), Box::new(r)));
            }
        }
    }
    all
}

fn leaves(tree: &Tree, out: &mut Vec<TensorId>) {
    match tree {
        Tree::Leaf(t) => out.push(*t),
        Tree::Pair(a, b) => {
            leaves(a, out);
            leaves(b, out);
        }
    }
}

/// Appends the steps of `tree` to `order`, returning the tensor holding its result. `out` is the
/// contraction's output; `all` are the contraction's tensors after reductions.
fn emit_tree(
    tree: &Tree,
    out: &[char],
    all: &[TensorId],
    tensors: &mut Vec<Vec<char>>,
    order: &mut Order,
    root: bool,
) -> TensorId {
    match tree {
        Tree::Leaf(t) if !root => *t,
        Tree::Leaf(t) => {
            // One tensor: a single step into the output (a copy, transpose, diagonal or sum).
            let id = tensors.len();
            tensors.push(out.to_vec());
            order.costs.push(union(&tensors[*t], out));
            order.steps.push(step(tensors, vec![*t], id, out));
            id
        }
        Tree::Pair(a, b) => {
            let (ta, tb) = (
                emit_tree(a, out, all, tensors, order, false),
                emit_tree(b, out, all, tensors, order, false),
            );
            let mut inside = Vec::new();
            leaves(tree, &mut inside);
            let (la, lb) = (tensors[ta].clone(), tensors[tb].clone());
            // A label survives this step if the output or a tensor outside the subtree needs it.
            let needed = |l: &char| {
                out.contains(l)
                    || all
                        .iter()
                        .filter(|t| !inside.contains(t))
                        .any(|&t| tensors[t].contains(l))
            };
            let result: Vec<char> = if root {
                out.to_vec()
            } else {
                // batch, left, right: a layout in which the step's GEMM writes whole matrices.
                let mut r: Vec<char> = la
                    .iter()
                    .copied()
                    .filter(|l| lb.contains(l) && needed(l))
                    .collect();
                r.extend(la.iter().copied().filter(|l| !lb.contains(l) && needed(l)));
                r.extend(lb.iter().copied().filter(|l| !la.contains(l) && needed(l)));
                r
            };
            let id = tensors.len();
            tensors.push(result.clone());
            order.costs.push(union(&la, &lb));
            order.steps.push(step(tensors, vec![ta, tb], id, &result));
            id
        }
    }
}

fn union(a: &[char], b: &[char]) -> Vec<char> {
    let mut u = a.to_vec();
    u.extend(b.iter().copied().filter(|l| !a.contains(l)));
    u
}

/// A step from `inputs` into the new tensor `id` with labels `out`: its loop order and, for a pair,
/// its GEMM grouping.
fn step(tensors: &[Vec<char>], inputs: Vec<TensorId>, id: TensorId, out: &[char]) -> Step {
    let ins: Vec<&Vec<char>> = inputs.iter().map(|&t| &tensors[t]).collect();
    let mut all: Vec<char> = out.to_vec();
    for t in &ins {
        for &l in t.iter() {
            if !all.contains(&l) {
                all.push(l);
            }
        }
    }
    // Innermost: the label that is the last axis of most tensors (unit stride when row-major). On a
    // tie: for a single input, its last label if that one is summed (`ij->i` sums each contiguous
    // row in one vectorized, pairwise lane, where running down the columns would add every element
    // to a running sum through a strided, scalar loop); then one of the result (its lanes are
    // written without a reduction); then the later one.
    let score = |l: char| {
        let last = |t: &[char]| t.last() == Some(&l);
        let n = usize::from(last(out)) + ins.iter().filter(|t| last(t)).count();
        let summed_row = matches!(ins.as_slice(), [t] if last(t)) && !out.contains(&l);
        let tie = if summed_row {
            2
        } else {
            usize::from(out.contains(&l))
        };
        (n, tie)
    };
    let innermost = all
        .iter()
        .copied()
        .enumerate()
        .max_by_key(|&(pos, l)| (score(l), pos))
        .map(|(_, l)| l);
    let mut loops: Vec<char> = all
        .iter()
        .copied()
        .filter(|&l| Some(l) != innermost)
        .collect();
    loops.extend(innermost);

    let gemm = match ins.as_slice() {
        [a, b] => {
            let batch: Vec<char> = a
                .iter()
                .copied()
                .filter(|l| b.contains(l) && out.contains(l))
                .collect();
            let left: Vec<char> = a
                .iter()
                .copied()
                .filter(|l| !b.contains(l) && out.contains(l))
                .collect();
            let right: Vec<char> = b
                .iter()
                .copied()
                .filter(|l| !a.contains(l) && out.contains(l))
                .collect();
            let summed: Vec<char> = a
                .iter()
                .copied()
                .filter(|l| b.contains(l) && !out.contains(l))
                .collect();
            let complete = batch.len() + left.len() + summed.len() == a.len()
                && batch.len() + right.len() + summed.len() == b.len();
            (complete && !left.is_empty() && !right.is_empty() && !summed.is_empty()).then_some(
                Groups {
                    batch,
                    left,
                    right,
                    summed,
                },
            )
        }
        _ => None,
    };
    let tile = match ins.as_slice() {
        [a] => a
            .last()
            .copied()
            .filter(|&q| Some(q) != innermost && out.contains(&q) && innermost.is_some()),
        _ => None,
    };
    Step {
        inputs,
        out: id,
        loops,
        gemm,
        tile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn matrix_product_is_one_gemm_step_with_axpy_lanes() {
        let c = plan_contraction(&[labels("ij"), labels("jk")], &labels("ik"));
        assert!(c.reductions.is_empty());
        assert_eq!(c.orders.len(), 1);
        let s = &c.orders[0].steps[0];
        assert_eq!(s.loops, labels("ijk"));
        let g = s.gemm.as_ref().unwrap();
        assert_eq!(
            (g.left.clone(), g.right.clone(), g.summed.clone()),
            (labels("i"), labels("k"), labels("j"))
        );
    }

    #[test]
    fn dot_like_steps_reduce_innermost() {
        let c = plan_contraction(&[labels("ij"), labels("j")], &labels("i"));
        assert_eq!(c.orders[0].steps[0].loops, labels("ij"));
        let c = plan_contraction(&[labels("ij")], &labels(""));
        assert_eq!(c.orders[0].steps[0].loops, labels("ij"));
        // A single input's contiguous rows are summed as lanes, not down the columns.
        let c = plan_contraction(&[labels("ij")], &labels("i"));
        assert_eq!(c.orders[0].steps[0].loops, labels("ij"));
        let c = plan_contraction(&[labels("bij")], &labels("bi"));
        assert_eq!(c.orders[0].steps[0].loops, labels("bij"));
        // Summing the rows themselves keeps the result's lanes innermost.
        let c = plan_contraction(&[labels("ij")], &labels("j"));
        assert_eq!(c.orders[0].steps[0].loops, labels("ij"));
    }

    #[test]
    fn transposes_are_tiled() {
        let c = plan_contraction(&[labels("ij")], &labels("ji"));
        let s = &c.orders[0].steps[0];
        assert_eq!((s.loops.last(), s.tile), (Some(&'i'), Some('j')));
        let c = plan_contraction(&[labels("ij")], &labels("ij"));
        assert_eq!(c.orders[0].steps[0].tile, None);
    }

    #[test]
    fn private_labels_are_summed_first() {
        let c = plan_contraction(&[labels("ijz"), labels("jk")], &labels("ik"));
        assert_eq!(c.reductions.len(), 1);
        assert_eq!(c.tensors[c.reductions[0].out], labels("ij"));
        assert_eq!(c.orders[0].steps[0].inputs, vec![c.reductions[0].out, 1]);
    }

    #[test]
    fn three_and_four_operands_enumerate_every_tree() {
        assert_eq!(trees(&[0, 1, 2]).len(), 3);
        assert_eq!(trees(&[0, 1, 2, 3]).len(), 15);
        let c = plan_contraction(&[labels("ij"), labels("jk"), labels("kl")], &labels("il"));
        assert!(c.orders.iter().all(|o| o.steps.len() == 2));
        let c = plan_contraction(
            &[labels("ij"), labels("jk"), labels("kl"), labels("lm")],
            &labels("im"),
        );
        // Intermediates keep only what the rest needs: (ij, jk) -> ik.
        let first = &c.orders[0].steps[0];
        assert_eq!(c.tensors[first.out].len(), 2);
    }

    /// The index volume of an order for `extents` (a-z), as the generated code computes it.
    fn cost(o: &Order, extents: &[u64; 26]) -> u64 {
        let volume = |ls: &[char]| -> u64 {
            ls.iter()
                .map(|&l| extents[l as usize - 'a' as usize])
                .product()
        };
        o.costs.iter().map(|ls| volume(ls)).sum()
    }

    /// All orders, as the plan had them before the dominated ones were dropped.
    fn every_order(inputs: &[Vec<char>], out: &[char]) -> Vec<Order> {
        let mut tensors = inputs.to_vec();
        let ids: Vec<TensorId> = (0..inputs.len()).collect();
        trees(&ids)
            .iter()
            .map(|tree| {
                let mut order = Order {
                    steps: Vec::new(),
                    costs: Vec::new(),
                };
                emit_tree(tree, out, &ids, &mut tensors, &mut order, true);
                order
            })
            .collect()
    }

    #[test]
    fn dropped_orders_are_never_the_cheapest() {
        let cases: [(&[&str], &str); 6] = [
            (&["ij", "jk", "kl"], "il"),
            (&["i", "ij", "j"], ""),
            (&["bi", "ij", "bj"], "b"),
            (&["i", "i", "i"], ""),
            (&["ij", "jk", "kl", "lm"], "im"),
            (&["ab", "bc", "cd", "da"], ""),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for (terms, out) in cases {
            let inputs: Vec<Vec<char>> = terms.iter().map(|t| labels(t)).collect();
            let kept = plan_contraction(&inputs, &labels(out)).orders;
            let all = every_order(&inputs, &labels(out));
            assert!(kept.len() < all.len(), "{terms:?}: some order is dominated");
            for _ in 0..500 {
                let mut extents = [1u64; 26];
                for e in &mut extents {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    *e = 1 + state % 40;
                }
                let best = |os: &[Order]| os.iter().map(|o| cost(o, &extents)).min().unwrap();
                assert_eq!(best(&kept), best(&all), "{terms:?} with {extents:?}");
            }
        }
        // Orders of equal cost everywhere: only the first stays.
        let same = plan_contraction(&[labels("i"), labels("i"), labels("i")], &labels(""));
        assert_eq!(same.orders.len(), 1);
    }
}
