//! The contraction order of a tensor network: which two tensors to contract next, planned from the
//! real extents, and [`einsum_path`], which shows that order to a user.
//!
//! A plan is a list of steps in numpy's *linear* path format: the tensors form a list, each step
//! names one or two positions in it, removes those tensors and appends the result. Steps are:
//! 1. for two or more tensors, a single-operand step for each tensor with labels no other tensor and
//!    not the output has (summing them first is never more expensive than carrying them into a pair);
//! 2. pairwise steps: for up to [`OPTIMAL_MAX`] tensors the order of least total cost, found by
//!    dynamic programming over subsets (for a connected network, over orders whose intermediates are
//!    connected, like opt_einsum's `dp`; outer products rarely pay); beyond that opt_einsum's `greedy` heuristic, which contracts
//!    the pair sharing a label whose result is smallest against its inputs (`size(result) - size(a) -
//!    size(b)`, ties to the oldest tensors);
//! 3. outer products of what is left (disconnected parts), smallest tensors first.
//!
//! Costs are opt_einsum's (and numpy's `einsum_path`'s): a step over labels `U` (the union of its
//! tensors' labels) costs `Π extent(U)` flops, times 2 when it sums a label away (a multiply and an
//! add). The planner only reads label sets, kept as bits of a `u128`; the executor decides axis
//! orders itself and only follows the positions.

use std::fmt;

use crate::contract::{label_name, Label, ELLIPSIS};
use crate::error::{AxisRef, EinsumError, ErrorKind};

/// Networks of up to this many tensors (after the single-operand steps) get an optimal order: the
/// search visits at most `3^n` splits, about 6 600 at 8 tensors, and far fewer when it skips
/// disconnected intermediates (a few microseconds for a chain of 8).
const OPTIMAL_MAX: usize = 8;

/// A set of labels: bit `i` is the network's `i`-th distinct label.
type Set = u128;
const SET_BITS: usize = Set::BITS as usize;

/// One planned step in positions of the current tensor list (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Contraction {
    /// The smaller position, or the only one.
    pub first: usize,
    /// The larger position of a pairwise step; `None` for a single-operand step.
    pub second: Option<usize>,
    /// The labels of the result.
    result: Set,
    /// opt_einsum's flop count of the step (NaN for the fallback plan, which has no costs).
    flops: f64,
    /// Elements of the result.
    size: f64,
    /// Number of distinct labels the step loops over.
    scaling: u32,
}

/// The label sets and extents of a network, in the planner's dense numbering.
struct Network {
    extents: Vec<f64>,
    inputs: Vec<Set>,
    output: Set,
    /// Whether some extent is 0 (then volumes cannot be divided).
    has_zero: bool,
}

impl Network {
    /// `None` when the labels do not fit a `Set` even without those of extent 1 (which change no
    /// cost): that takes an ellipsis of more than 76 dimensions.
    fn new(
        inputs: &[&[Label]],
        output: &[Label],
        extent: &impl Fn(Label) -> usize,
    ) -> Option<Self> {
        let mut labels: Vec<Label> = inputs.iter().copied().flatten().copied().collect();
        labels.extend_from_slice(output);
        labels.sort_unstable();
        labels.dedup();
        if labels.len() > SET_BITS {
            labels.retain(|&l| extent(l) != 1);
            if labels.len() > SET_BITS {
                return None;
            }
        }
        let set_of = |ls: &[Label]| -> Set {
            ls.iter()
                .filter_map(|l| labels.binary_search(l).ok())
                .fold(0, |s, i| s | 1 << i)
        };
        let extents: Vec<f64> = labels.iter().map(|&l| extent(l) as f64).collect();
        Some(Network {
            has_zero: extents.contains(&0.0),
            extents,
            inputs: inputs.iter().map(|ls| set_of(ls)).collect(),
            output: set_of(output),
        })
    }

    /// Product of the extents of `set`.
    fn volume(&self, mut set: Set) -> f64 {
        let mut v = 1.0;
        while set != 0 {
            v *= self.extents[set.trailing_zeros() as usize];
            set &= set - 1;
        }
        v
    }

    /// `volume(a | b)` from the volumes of `a` and `b`, touching only the (usually few) shared labels.
    fn union_volume(&self, a: Set, va: f64, b: Set, vb: f64) -> f64 {
        if self.has_zero {
            self.volume(a | b)
        } else {
            va * vb / self.volume(a & b)
        }
    }

    /// opt_einsum's flop count of a step over `union` that leaves `result`.
    fn flops(&self, union_volume: f64, union: Set, result: Set) -> f64 {
        if union == result {
            union_volume
        } else {
            2.0 * union_volume
        }
    }
}

/// A tensor of the current list: its labels, its element count and its creation number.
#[derive(Debug, Clone, Copy)]
struct Item {
    set: Set,
    size: f64,
    /// Inputs are `0..n`, each result the next number: smaller is older (opt_einsum's SSA ids).
    age: usize,
}

/// How a greedy candidate ranks: its cost, then the ages of its younger and older tensor.
type Rank = (f64, usize, usize);

/// The current list and the steps so far.
struct Planner<'n> {
    net: &'n Network,
    items: Vec<Item>,
    steps: Vec<Contraction>,
}

impl Planner<'_> {
    /// Labels of tensors other than positions `skip`, plus the output.
    fn needed_outside(&self, skip: &[usize]) -> Set {
        (self.items.iter().enumerate())
            .filter(|(p, _)| !skip.contains(p))
            .fold(self.net.output, |s, (_, it)| s | it.set)
    }

    /// Records the step on positions `first` (and `second`) that leaves `result`.
    fn contract(&mut self, first: usize, second: Option<usize>, result: Set) {
        let (first, second) = match second {
            Some(s) if s < first => (s, Some(first)),
            _ => (first, second),
        };
        let a = self.items[first];
        let (union, union_volume) = match second {
            Some(s) => {
                let b = self.items[s];
                let v = self.net.union_volume(a.set, a.size, b.set, b.size);
                (a.set | b.set, v)
            }
            None => (a.set, a.size),
        };
        let size = self.net.volume(result);
        self.steps.push(Contraction {
            first,
            second,
            result,
            flops: self.net.flops(union_volume, union, result),
            size,
            scaling: union.count_ones(),
        });
        if let Some(s) = second {
            self.items.remove(s);
        }
        self.items.remove(first);
        self.items.push(Item {
            set: result,
            size,
            age: self.net.inputs.len() + self.steps.len() - 1,
        });
    }

    /// Sums away, tensor by tensor, labels that only that tensor has and the output lacks.
    fn reduce_private_labels(&mut self) {
        for age in 0..self.items.len() {
            let p = (self.items.iter())
                .position(|it| it.age == age)
                .expect("einsum-runtime internal error: inputs are numbered 0..n");
            let keep = self.items[p].set & self.needed_outside(&[p]);
            if keep != self.items[p].set {
                self.contract(p, None, keep);
            }
        }
    }

    /// opt_einsum's greedy: while two tensors share a label, contracts the pair minimizing
    /// `size(result) - size(a) - size(b)`, ties to the pair whose younger tensor is oldest, then to
    /// the older second tensor.
    fn greedy(&mut self) {
        while self.items.len() > 1 {
            // Labels on at least two / three tensors: a label shared by the pair survives if a third
            // tensor has it; a label only one of the pair has survives if any other tensor has it.
            let (mut once, mut twice, mut thrice) = (0, 0, 0);
            for it in &self.items {
                thrice |= twice & it.set;
                twice |= once & it.set;
                once |= it.set;
            }
            let output = self.net.output;
            // (cost, younger age, older age), positions, result.
            let mut best: Option<(Rank, usize, usize, Set)> = None;
            for (i, a) in self.items.iter().enumerate() {
                for (j, b) in self.items.iter().enumerate().skip(i + 1) {
                    let both = a.set & b.set;
                    if both == 0 {
                        continue;
                    }
                    let either = a.set | b.set;
                    let result = (either & output) | (both & thrice) | (either & !both & twice);
                    let cost = self.net.volume(result) - a.size - b.size;
                    let key = (cost, a.age.max(b.age), a.age.min(b.age));
                    if best.as_ref().is_none_or(|(k, ..)| key < *k) {
                        best = Some((key, i, j, result));
                    }
                }
            }
            let Some((_, i, j, result)) = best else {
                return;
            };
            self.contract(i, Some(j), result);
        }
    }

    /// The order of least total flops by dynamic programming over subsets of the (at most
    /// [`OPTIMAL_MAX`]) current tensors: over all pairwise trees if the network is disconnected, else
    /// over those whose intermediates are connected.
    fn optimal(&mut self) {
        let n = self.items.len();
        debug_assert!((2..=OPTIMAL_MAX).contains(&n));
        let full = (1usize << n) - 1;
        let net = self.net;
        // Per subset: union of its labels, labels its result keeps, their volume, best cost and split.
        let mut union = vec![0 as Set; full + 1];
        for s in 1..=full {
            let low = s.trailing_zeros() as usize;
            union[s] = union[s & (s - 1)] | self.items[low].set;
        }
        let kept: Vec<Set> = (0..=full)
            .map(|s| union[s] & (net.output | union[full ^ s]))
            .collect();
        let volume: Vec<f64> = kept.iter().map(|&k| net.volume(k)).collect();
        // Tensors sharing a label are adjacent; when the whole network is connected, only connected
        // subsets are intermediates worth costing (as in opt_einsum's `dp`), which prunes most.
        let adjacent: Vec<usize> = (self.items.iter())
            .map(|a| {
                (self.items.iter().enumerate())
                    .filter(|(_, b)| a.set & b.set != 0)
                    .fold(0, |m, (j, _)| m | 1 << j)
            })
            .collect();
        let connected = |s: usize| {
            let mut reach = s & s.wrapping_neg();
            loop {
                let next = (0..n)
                    .filter(|i| reach >> i & 1 == 1)
                    .fold(reach, |r, i| r | (adjacent[i] & s));
                if next == reach {
                    return reach == s;
                }
                reach = next;
            }
        };
        let prune = connected(full);
        let mut cost = vec![0.0f64; full + 1];
        let mut split = vec![0usize; full + 1];
        for s in 1..=full {
            if s.count_ones() < 2 {
                continue;
            }
            if prune && !connected(s) {
                // Still a valid tree, should an overflowed cost below ever choose it.
                cost[s] = f64::INFINITY;
                split[s] = s & s.wrapping_neg();
                continue;
            }
            let low = s & s.wrapping_neg();
            let rest = s ^ low;
            let mut best = (f64::INFINITY, 0);
            // `a` runs over the subsets of `s` that hold its lowest tensor, except `s` itself. A split
            // whose halves already cost more than the best so far (or are pruned, at infinite cost)
            // is skipped before its step is costed.
            let mut sub = rest;
            loop {
                sub = sub.wrapping_sub(1) & rest;
                let a = low | sub;
                let b = s ^ a;
                let partial = cost[a] + cost[b];
                if partial < best.0 {
                    let (ka, kb) = (kept[a], kept[b]);
                    let v = net.union_volume(ka, volume[a], kb, volume[b]);
                    let total = partial + net.flops(v, ka | kb, kept[s]);
                    if total < best.0 {
                        best = (total, a);
                    }
                }
                if sub == 0 {
                    break;
                }
            }
            if best.1 == 0 {
                // Every split overflowed to an infinite cost: any split will do.
                best.1 = low;
            }
            cost[s] = best.0;
            split[s] = best.1;
        }
        // Emit the tree bottom-up; `masks` tracks which subset each current position holds.
        let mut masks: Vec<usize> = (0..n).map(|i| 1 << i).collect();
        let mut stack = vec![(full, false)];
        while let Some((s, children_done)) = stack.pop() {
            if s.count_ones() < 2 {
                continue;
            }
            let (a, b) = (split[s], s ^ split[s]);
            if children_done {
                let pa = masks.iter().position(|&m| m == a);
                let pb = masks.iter().position(|&m| m == b);
                let (pa, pb) = pa
                    .zip(pb)
                    .expect("einsum-runtime internal error: split emitted");
                self.contract(pa, Some(pb), kept[s]);
                masks.remove(pa.max(pb));
                masks.remove(pa.min(pb));
                masks.push(s);
            } else {
                stack.push((s, true));
                stack.push((b, false));
                stack.push((a, false));
            }
        }
    }

    /// Outer products of the remaining, disconnected tensors: the two smallest first.
    fn outer_products(&mut self) {
        while self.items.len() > 1 {
            let key = |it: &Item| (it.size, it.age);
            let mut order: Vec<usize> = (0..self.items.len()).collect();
            order.sort_by(|&x, &y| {
                let (kx, ky) = (key(&self.items[x]), key(&self.items[y]));
                kx.0.total_cmp(&ky.0).then(kx.1.cmp(&ky.1))
            });
            let (i, j) = (order[0], order[1]);
            let result = (self.items[i].set | self.items[j].set) & self.needed_outside(&[i, j]);
            self.contract(i, Some(j), result);
        }
    }
}

/// Plans the contraction of tensors with labels `inputs` into `output` (see the module docs).
///
/// Labels may repeat within an input (they count once). One input gives the single step `(0,)`.
pub(crate) fn plan(
    inputs: &[&[Label]],
    output: &[Label],
    extent: impl Fn(Label) -> usize,
) -> Vec<Contraction> {
    let Some(net) = Network::new(inputs, output, &extent) else {
        return fallback(inputs.len());
    };
    let mut planner = Planner {
        net: &net,
        items: (net.inputs.iter().enumerate())
            .map(|(age, &set)| Item {
                set,
                size: net.volume(set),
                age,
            })
            .collect(),
        steps: Vec::with_capacity(2 * inputs.len()),
    };
    match planner.items.len() {
        0 => {}
        1 => planner.contract(0, None, net.output),
        _ => {
            planner.reduce_private_labels();
            if planner.items.len() <= OPTIMAL_MAX {
                planner.optimal();
            } else {
                planner.greedy();
            }
            planner.outer_products();
        }
    }
    planner.steps
}

/// Left to right, without costs: only for networks whose labels do not fit a `Set`.
fn fallback(n: usize) -> Vec<Contraction> {
    let step = |first, second| Contraction {
        first,
        second,
        result: 0,
        flops: f64::NAN,
        size: f64::NAN,
        scaling: 0,
    };
    match n {
        0 => Vec::new(),
        1 => vec![step(0, None)],
        _ => (1..n).map(|_| step(0, Some(1))).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// The public explanation: `einsum_path`
// ---------------------------------------------------------------------------------------------

/// The pairwise contraction order that `einsum!` uses for given operand shapes, with its costs, as
/// numpy's `einsum_path` and opt_einsum's `contract_path` report it. Made by [`einsum_path`].
///
/// Its `Display` is a table: the complete contraction, the naive and optimized flop counts, the
/// speedup, the largest intermediate, then one row per step with the positions contracted (numpy's
/// linear path format: the tensors form a list, a step removes the tensors at its positions and
/// appends its result), the number of labels it loops over, its flops and result size, the step as
/// an einsum and the terms remaining after it.
///
/// Flops are opt_einsum's count: a step costs the product of the extents of all labels of its
/// tensors, times 2 when it sums a label away; the naive count is one loop over all labels, times
/// the number of operands less one, plus one if a label is shared. Counts are `f64` (exact below
/// 2⁵³).
///
/// ```
/// use einsum_runtime::einsum_path;
///
/// // A matrix chain: multiply the thin matrices first.
/// let path = einsum_path("ij,jk,kl->il", &[&[100, 2], &[2, 100], &[100, 3]]).unwrap();
/// let pairs: Vec<&[usize]> = path.steps().iter().map(|s| s.operands()).collect();
/// assert_eq!(pairs, [&[1, 2][..], &[0, 1][..]]);
/// assert_eq!(path.steps()[0].term(), "jk,kl->jl");
/// assert_eq!(path.flops(), 2.0 * (2.0 * 100.0 * 3.0) + 2.0 * (100.0 * 2.0 * 3.0));
/// println!("{path}");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    contraction: String,
    steps: Vec<Step>,
    naive_flops: f64,
    naive_scaling: usize,
}

/// One step of a [`Path`]: the positions it contracts and what it costs.
///
/// ```
/// use einsum_runtime::einsum_path;
///
/// let path = einsum_path("ab,bc->ac", &[&[2, 3], &[3, 4]]).unwrap();
/// let step = &path.steps()[0];
/// assert_eq!(step.operands(), [0, 1]);
/// assert_eq!(step.term(), "ab,bc->ac");
/// assert_eq!((step.flops(), step.size(), step.scaling()), (48.0, 8.0, 3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    operands: Vec<usize>,
    term: String,
    remaining: String,
    flops: f64,
    size: f64,
    scaling: usize,
}

impl Path {
    /// The steps, in execution order.
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("i,i,i->", &[&[3], &[3], &[3]]).unwrap();
    /// assert_eq!(path.steps().len(), 2);
    /// ```
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The total flops of the steps (opt_einsum's `opt_cost`).
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ij,jk->ik", &[&[2, 3], &[3, 4]]).unwrap();
    /// assert_eq!(path.flops(), 2.0 * 2.0 * 3.0 * 4.0);
    /// ```
    pub fn flops(&self) -> f64 {
        self.steps.iter().map(|s| s.flops).sum()
    }

    /// The flops of one loop nest over all labels at once (opt_einsum's `naive_cost`).
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ij,jk,kl->il", &[&[5, 5], &[5, 5], &[5, 5]]).unwrap();
    /// assert_eq!(path.naive_flops(), 3.0 * 5f64.powi(4));
    /// assert!(path.flops() < path.naive_flops());
    /// ```
    pub fn naive_flops(&self) -> f64 {
        self.naive_flops
    }

    /// `naive_flops / flops` (with `flops` taken as at least 1).
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ij,jk,kl->il", &[&[5, 5], &[5, 5], &[5, 5]]).unwrap();
    /// assert_eq!(path.speedup(), 3.0 * 625.0 / 500.0);
    /// ```
    pub fn speedup(&self) -> f64 {
        self.naive_flops / self.flops().max(1.0)
    }

    /// The most labels any step loops over (the path's scaling exponent).
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ij,jk,kl->il", &[&[5, 5], &[5, 5], &[5, 5]]).unwrap();
    /// assert_eq!(path.scaling(), 3);
    /// ```
    pub fn scaling(&self) -> usize {
        self.steps.iter().map(|s| s.scaling).max().unwrap_or(0)
    }

    /// The number of distinct labels of the whole pattern (the naive loop nest's scaling).
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ij,jk,kl->il", &[&[5, 5], &[5, 5], &[5, 5]]).unwrap();
    /// assert_eq!(path.naive_scaling(), 4);
    /// ```
    pub fn naive_scaling(&self) -> usize {
        self.naive_scaling
    }

    /// The element count of the largest step result (1 when there are no steps).
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ij,jk,kl->il", &[&[5, 2], &[2, 7], &[7, 3]]).unwrap();
    /// assert_eq!(path.largest_intermediate(), 15.0);
    /// ```
    pub fn largest_intermediate(&self) -> f64 {
        self.steps.iter().map(|s| s.size).fold(1.0, f64::max)
    }
}

impl Step {
    /// The positions contracted, ascending: two for a pairwise step, one for a single-operand step.
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ij->", &[&[2, 3]]).unwrap();
    /// assert_eq!(path.steps()[0].operands(), [0]);
    /// ```
    pub fn operands(&self) -> &[usize] {
        &self.operands
    }

    /// The step as an einsum, e.g. `"ab,bc->ac"` (ellipsis dimensions are shown as letters that the
    /// pattern does not use).
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ab,bc,cd->ad", &[&[9, 2], &[2, 9], &[9, 9]]).unwrap();
    /// assert_eq!(path.steps()[1].term(), "ab,bd->ad");
    /// ```
    pub fn term(&self) -> &str {
        &self.term
    }

    /// The terms left after this step, as an einsum with the final output.
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ab,bc,cd->ad", &[&[9, 2], &[2, 9], &[9, 9]]).unwrap();
    /// assert_eq!(path.steps()[0].remaining(), "ab,bd->ad");
    /// ```
    pub fn remaining(&self) -> &str {
        &self.remaining
    }

    /// opt_einsum's flop count of the step (see [`Path`]).
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ab,ab->ab", &[&[2, 3], &[2, 3]]).unwrap();
    /// assert_eq!(path.steps()[0].flops(), 6.0); // nothing summed: one flop per element
    /// ```
    pub fn flops(&self) -> f64 {
        self.flops
    }

    /// The number of elements of the step's result.
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ab,bc->ac", &[&[2, 3], &[3, 4]]).unwrap();
    /// assert_eq!(path.steps()[0].size(), 8.0);
    /// ```
    pub fn size(&self) -> f64 {
        self.size
    }

    /// The number of distinct labels the step loops over.
    ///
    /// ```
    /// let path = einsum_runtime::einsum_path("ab,bc->ac", &[&[2, 3], &[3, 4]]).unwrap();
    /// assert_eq!(path.steps()[0].scaling(), 3);
    /// ```
    pub fn scaling(&self) -> usize {
        self.scaling
    }
}

/// `1.234e+05`, as numpy and opt_einsum print counts.
struct Sci(f64);

impl fmt::Display for Sci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:.3e}", self.0);
        match text.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exp),
                };
                let text = format!("{mantissa}e{sign}{digits:0>2}");
                f.pad(&text)
            }
            None => f.pad(&text),
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "-".repeat(96);
        writeln!(f, "  Complete contraction:  {}", self.contraction)?;
        writeln!(f, "         Naive scaling:  {}", self.naive_scaling)?;
        writeln!(f, "     Optimized scaling:  {}", self.scaling())?;
        writeln!(f, "      Naive FLOP count:  {}", Sci(self.naive_flops))?;
        writeln!(f, "  Optimized FLOP count:  {}", Sci(self.flops()))?;
        writeln!(f, "   Theoretical speedup:  {}", Sci(self.speedup()))?;
        writeln!(
            f,
            "  Largest intermediate:  {} elements",
            Sci(self.largest_intermediate())
        )?;
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            "{:>4} {:>9} {:>7} {:>10} {:>10}  {:<24} remaining",
            "step", "operands", "scaling", "flops", "size", "current"
        )?;
        write!(f, "{rule}")?;
        for (n, s) in self.steps.iter().enumerate() {
            let operands = match s.operands.as_slice() {
                [a] => format!("({a},)"),
                ops => format!(
                    "({})",
                    ops.iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            write!(
                f,
                "\n{n:>4} {operands:>9} {:>7} {:>10} {:>10}  {:<24} {}",
                s.scaling,
                Sci(s.flops),
                Sci(s.size),
                s.term,
                s.remaining
            )?;
        }
        Ok(())
    }
}

/// One term as parsed at run time: its labels in order and the position of its `...`, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    labels: Vec<Label>,
    ellipsis: Option<usize>,
    spelling: String,
}

/// A label's id (see [`Label`]), for the letters `A-Z` and `a-z`.
fn label_id(c: char) -> Option<Label> {
    match c {
        'A'..='Z' => Some(c as Label - 'A' as Label),
        'a'..='z' => Some(c as Label - 'a' as Label + 26),
        _ => None,
    }
}

fn invalid(pattern: &str, reason: String) -> EinsumError {
    EinsumError::new(pattern, ErrorKind::InvalidPattern { reason })
}

/// `term = { label | "..." }` with at most one `"..."`; `label = "a".."z" | "A".."Z"`. Spaces are
/// removed before.
fn parse_term(pattern: &str, text: &str) -> Result<Parsed, EinsumError> {
    let mut term = Parsed {
        labels: Vec::new(),
        ellipsis: None,
        spelling: text.to_owned(),
    };
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("...") {
            if term.ellipsis.is_some() {
                return Err(invalid(pattern, format!("term `{text}` has two `...`")));
            }
            term.ellipsis = Some(term.labels.len());
            rest = after;
        } else if let Some(id) = label_id(c) {
            term.labels.push(id);
            rest = &rest[1..];
        } else {
            return Err(invalid(
                pattern,
                format!("`{c}` is not a label: labels are `a-z` and `A-Z`"),
            ));
        }
    }
    Ok(term)
}

/// `pattern = term { "," term } [ "->" term ]`, spaces ignored; without `->` the output is the
/// labels that occur once, sorted by character code, after `...` if any input has one.
fn parse_pattern(pattern: &str) -> Result<(Vec<Parsed>, Parsed), EinsumError> {
    let text: String = pattern.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match text.split_once("->") {
        Some((_, rhs)) if rhs.contains("->") => {
            return Err(invalid(pattern, "more than one `->`".to_owned()))
        }
        Some((lhs, rhs)) => (lhs, Some(rhs)),
        None => (text.as_str(), None),
    };
    let inputs = (lhs.split(','))
        .map(|t| parse_term(pattern, t))
        .collect::<Result<Vec<_>, _>>()?;
    let count = |l: Label| {
        inputs
            .iter()
            .flat_map(|t| &t.labels)
            .filter(|&&x| x == l)
            .count()
    };
    let output = match rhs {
        Some(rhs) => {
            let out = parse_term(pattern, rhs)?;
            for (i, &l) in out.labels.iter().enumerate() {
                if out.labels[..i].contains(&l) {
                    let reason = format!("label `{}` appears twice in the output", label_name(l));
                    return Err(invalid(pattern, reason));
                }
                if count(l) == 0 {
                    let reason = format!(
                        "label `{}` appears in the output but in no operand",
                        label_name(l)
                    );
                    return Err(invalid(pattern, reason));
                }
            }
            out
        }
        None => {
            let mut labels: Vec<Label> = (0..ELLIPSIS).filter(|&l| count(l) == 1).collect();
            labels.sort_unstable();
            let ellipsis = inputs.iter().any(|t| t.ellipsis.is_some()).then_some(0);
            let spelling = ellipsis.map_or("", |_| "...").to_owned()
                + &labels.iter().map(|&l| label_name(l)).collect::<String>();
            Parsed {
                labels,
                ellipsis,
                spelling,
            }
        }
    };
    Ok((inputs, output))
}

/// A term's labels with its `...` replaced by `ellipsis`.
fn expand(term: &Parsed, ellipsis: &[Label]) -> Vec<Label> {
    let split = term.ellipsis.unwrap_or(term.labels.len());
    let mut labels = term.labels[..split].to_vec();
    if term.ellipsis.is_some() {
        labels.extend_from_slice(ellipsis);
    }
    labels.extend_from_slice(&term.labels[split..]);
    labels
}

/// Shapes bound to parsed terms.
struct Bound {
    /// Per operand, the label of each axis (ellipsis expanded).
    axis_labels: Vec<Vec<Label>>,
    /// The labels of the longest ellipsis.
    ellipsis: Vec<Label>,
    /// Per label id, its extent (1 for labels no operand has).
    extents: Vec<usize>,
}

/// Binds `shapes` to `inputs`, checking them as `einsum!` checks its operands.
fn bind(pattern: &str, inputs: &[Parsed], shapes: &[&[usize]]) -> Result<Bound, EinsumError> {
    let mut ranks = Vec::with_capacity(inputs.len());
    for (operand, (term, shape)) in inputs.iter().zip(shapes).enumerate() {
        let named = term.labels.len();
        let fits = match term.ellipsis {
            Some(_) => shape.len() >= named,
            None => shape.len() == named,
        };
        if !fits {
            let kind = ErrorKind::RankMismatch {
                operand,
                term: term.spelling.clone(),
                expected: named,
                at_least: term.ellipsis.is_some(),
                found: shape.len(),
            };
            return Err(EinsumError::new(pattern, kind));
        }
        ranks.push(shape.len() - named);
    }
    let rank = ranks.iter().copied().max().unwrap_or(0);
    if rank > usize::from(Label::MAX - ELLIPSIS) {
        let shape = shapes.iter().max_by_key(|s| s.len()).map(|s| s.to_vec());
        let kind = ErrorKind::TooLarge {
            shape: shape.unwrap_or_default(),
        };
        return Err(EinsumError::new(pattern, kind));
    }
    let ellipsis: Vec<Label> = (0..rank).map(|d| ELLIPSIS + d as Label).collect();
    let mut first: Vec<Option<AxisRef>> = vec![None; usize::from(ELLIPSIS) + rank];
    let mut axis_labels = Vec::with_capacity(inputs.len());
    for (operand, (term, shape)) in inputs.iter().zip(shapes).enumerate() {
        let labels = expand(term, &ellipsis[rank - ranks[operand]..]);
        for (axis, (&label, &extent)) in labels.iter().zip(shape.iter()).enumerate() {
            let here = AxisRef {
                operand,
                axis,
                extent,
            };
            let slot = &mut first[usize::from(label)];
            match *slot {
                Some(seen) if seen.extent == extent || extent == 1 => {}
                Some(seen) if seen.extent != 1 => {
                    let kind = ErrorKind::ExtentMismatch {
                        label: label_name(label),
                        first: seen,
                        second: here,
                    };
                    return Err(EinsumError::new(pattern, kind));
                }
                _ => *slot = Some(here),
            }
        }
        axis_labels.push(labels);
    }
    Ok(Bound {
        axis_labels,
        ellipsis,
        extents: first.iter().map(|a| a.map_or(1, |a| a.extent)).collect(),
    })
}

/// The contraction order that `einsum!` and `try_einsum!` use for `pattern` on operands of the given
/// `shapes`, with its costs: the counterpart of numpy's `einsum_path` (see [`Path`]).
///
/// `pattern` is parsed at run time with the macros' rules: labels `a-z` and `A-Z`, terms separated
/// by commas, an optional `->` and output, `...` once per term, spaces ignored, and without `->` the
/// output is the labels that occur once, sorted by character code. The order depends only on the
/// pattern and the shapes, so it is the one a call with arrays of these shapes runs (for up to 8
/// operands the order of least flops among those without needless outer products, beyond that
/// opt_einsum's greedy heuristic).
///
/// ```
/// use einsum_runtime::{einsum, einsum_path};
/// use ndarray::Array2;
///
/// let (a, b, c) = (Array2::<f64>::ones((50, 2)), Array2::ones((2, 50)), Array2::ones((50, 3)));
/// let path = einsum_path("ij,jk,kl->il", &[a.shape(), b.shape(), c.shape()]).unwrap();
/// println!("{path}");
/// assert_eq!(path.steps()[0].term(), "jk,kl->jl"); // b·c first: 2×3 instead of 50×50
/// assert!(path.speedup() > 10.0);
/// assert_eq!(einsum!("ij,jk,kl->il", a, b, c), a.dot(&b).dot(&c));
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidPattern`] for a malformed pattern, [`ErrorKind::OperandCount`] when `shapes`
/// has a different number of shapes than the pattern has terms, and the kinds `try_einsum!` returns
/// for shapes that do not fit (rank or extent mismatches).
///
/// ```
/// use einsum_runtime::{einsum_path, ErrorKind};
///
/// let err = einsum_path("ij,jk->ik", &[&[2, 3], &[4, 5]]).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::ExtentMismatch { label, .. } if label == "j"));
/// let err = einsum_path("ij,j1->i", &[&[2, 3], &[3, 1]]).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::InvalidPattern { .. }));
/// ```
pub fn einsum_path(pattern: &str, shapes: &[&[usize]]) -> Result<Path, EinsumError> {
    let (inputs, output) = parse_pattern(pattern)?;
    if inputs.len() != shapes.len() {
        let kind = ErrorKind::OperandCount {
            expected: inputs.len(),
            found: shapes.len(),
        };
        return Err(EinsumError::new(pattern, kind));
    }
    let bound = bind(pattern, &inputs, shapes)?;
    let out = expand(&output, &bound.ellipsis);
    let extent = |l: Label| bound.extents[usize::from(l)];
    let lists: Vec<&[Label]> = bound.axis_labels.iter().map(Vec::as_slice).collect();
    let steps = plan(&lists, &out, extent);
    Ok(explain(&inputs, &bound.axis_labels, &out, &steps, extent))
}

/// The [`Path`] of planned `steps`, with terms spelled for display.
fn explain(
    inputs: &[Parsed],
    axis_labels: &[Vec<Label>],
    output: &[Label],
    steps: &[Contraction],
    extent: impl Fn(Label) -> usize,
) -> Path {
    // Ellipsis dimensions are shown as letters the pattern does not use, then as Greek letters.
    let used: Vec<Label> = inputs
        .iter()
        .flat_map(|t| t.labels.iter().copied())
        .collect();
    let spare: Vec<char> = (('a'..='z').chain('A'..='Z'))
        .filter(|&c| label_id(c).is_some_and(|l| !used.contains(&l)))
        .chain('α'..='ω')
        .collect();
    let name = |l: Label| match l {
        0..ELLIPSIS => label_name(l),
        _ => spare
            .get(usize::from(l - ELLIPSIS))
            .map_or_else(|| "?".to_owned(), char::to_string),
    };
    let spell = |ls: &[Label]| ls.iter().map(|&l| name(l)).collect::<String>();
    let out_spelling = spell(output);

    let mut all: Vec<Label> = axis_labels.iter().flatten().copied().collect();
    all.sort_unstable();
    all.dedup();
    let shared = axis_labels
        .iter()
        .map(|ls| distinct(ls).len())
        .sum::<usize>()
        > all.len();
    let volume: f64 = all.iter().map(|&l| extent(l) as f64).product();
    let factor = axis_labels.len().saturating_sub(1).max(1) + usize::from(shared);

    let mut current: Vec<Vec<Label>> = axis_labels.iter().map(|ls| distinct(ls)).collect();
    let mut explained = Vec::with_capacity(steps.len());
    for (n, step) in steps.iter().enumerate() {
        let positions: Vec<usize> = std::iter::once(step.first).chain(step.second).collect();
        let taken: Vec<Vec<Label>> = positions.iter().rev().map(|&p| current.remove(p)).collect();
        let taken: Vec<Vec<Label>> = taken.into_iter().rev().collect();
        // Result labels in order of first appearance (tensordot order), the output's order last.
        let result: Vec<Label> = if n + 1 == steps.len() {
            output.to_vec()
        } else {
            let needed = |l: &Label| output.contains(l) || current.iter().any(|c| c.contains(l));
            distinct(&taken.concat())
                .into_iter()
                .filter(needed)
                .collect()
        };
        let term =
            taken.iter().map(|t| spell(t)).collect::<Vec<_>>().join(",") + "->" + &spell(&result);
        current.push(result);
        let remaining = current
            .iter()
            .map(|t| spell(t))
            .collect::<Vec<_>>()
            .join(",")
            + "->"
            + &out_spelling;
        explained.push(Step {
            operands: positions,
            term,
            remaining,
            flops: step.flops,
            size: step.size,
            scaling: step.scaling as usize,
        });
    }
    let terms: Vec<&str> = inputs.iter().map(|t| t.spelling.as_str()).collect();
    Path {
        contraction: terms.join(",") + "->" + &out_spelling,
        steps: explained,
        naive_flops: volume * factor as f64,
        naive_scaling: all.len(),
    }
}

/// `labels` without repeats, in order of first appearance.
fn distinct(labels: &[Label]) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::with_capacity(labels.len());
    for &l in labels {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels from letters, for readable tests.
    fn ids(term: &str) -> Vec<Label> {
        term.chars().map(|c| label_id(c).unwrap()).collect()
    }

    /// Plans `pattern` (explicit output) with every label's extent from `extent`.
    fn plan_of(pattern: &str, extent: impl Fn(char) -> usize) -> Vec<Contraction> {
        let (lhs, rhs) = pattern.split_once("->").unwrap();
        let inputs: Vec<Vec<Label>> = lhs.split(',').map(ids).collect();
        let lists: Vec<&[Label]> = inputs.iter().map(Vec::as_slice).collect();
        let to_char = |l: Label| label_name(l).chars().next().unwrap();
        plan(&lists, &ids(rhs), |l| extent(to_char(l)))
    }

    fn pairs(steps: &[Contraction]) -> Vec<(usize, Option<usize>)> {
        steps.iter().map(|s| (s.first, s.second)).collect()
    }

    fn total(steps: &[Contraction]) -> f64 {
        steps.iter().map(|s| s.flops).sum()
    }

    /// Every tensor is consumed exactly once and one remains.
    fn check_linear(n: usize, steps: &[Contraction]) {
        let mut len = n;
        for s in steps {
            assert!(s.first < len && s.second.is_none_or(|b| s.first < b && b < len));
            len -= usize::from(s.second.is_some());
        }
        assert_eq!(len, 1.min(n));
    }

    #[test]
    fn matrix_chain_takes_the_thin_pair_first() {
        // `jk·kl` is a 2×100 result for 2·100·100 products; `ij·jk` would be 100×100.
        let steps = plan_of("ij,jk,kl->il", |c| if c == 'j' { 2 } else { 100 });
        assert_eq!(pairs(&steps), [(1, Some(2)), (0, Some(1))]);
        assert_eq!(total(&steps), 2.0 * (2.0 * 100.0 * 100.0) * 2.0);
        let steps = plan_of("ij,jk,kl->il", |c| if c == 'k' { 2 } else { 100 });
        assert_eq!(pairs(&steps), [(0, Some(1)), (0, Some(1))]);
    }

    #[test]
    fn single_operand_gets_one_step() {
        let steps = plan_of("ij->i", |_| 3);
        assert_eq!(pairs(&steps), [(0, None)]);
        assert_eq!((steps[0].flops, steps[0].size), (18.0, 3.0));
        let steps = plan_of("ij->ji", |_| 3);
        assert_eq!(steps[0].flops, 9.0);
    }

    #[test]
    fn private_labels_are_summed_first() {
        // `x` is only on the second tensor: it is reduced before any pair.
        let steps = plan_of("ab,bx,bc->ac", |c| if c == 'x' { 50 } else { 4 });
        assert_eq!(steps[0].first, 1);
        assert_eq!(steps[0].second, None);
        assert_eq!(steps[0].flops, 2.0 * 4.0 * 50.0);
        check_linear(3, &steps);
    }

    #[test]
    fn outer_products_go_last_and_smallest_first() {
        let steps = plan_of("a,b,c,ad->bcd", |c| match c {
            'a' => 3,
            'b' => 10,
            'c' => 2,
            _ => 5,
        });
        // a·ad first (connected), then the outer products, smallest first: c (2) ⊗ d (5), then b.
        assert_eq!(pairs(&steps), [(0, Some(3)), (1, Some(2)), (0, Some(1))]);
        check_linear(4, &steps);
    }

    #[test]
    fn scalars_and_no_labels() {
        let steps = plan_of(",,ab->ab", |_| 2);
        check_linear(3, &steps);
        assert_eq!(steps.len(), 2);
    }

    /// A chain of `n` matrices with extents that make the order matter.
    fn chain(n: usize) -> (String, Vec<usize>) {
        let letters: Vec<char> = ('a'..='z').collect();
        let terms: Vec<String> = (0..n)
            .map(|i| format!("{}{}", letters[i], letters[i + 1]))
            .collect();
        let pattern = format!("{}->{}{}", terms.join(","), letters[0], letters[n]);
        let extents = (0..=n).map(|i| [7, 3, 11, 2, 9, 5, 13, 4][i % 8]).collect();
        (pattern, extents)
    }

    #[test]
    fn optimal_matches_brute_force_on_chains() {
        // Brute force over all pairwise orders of a small network, by recursion on the list.
        fn brute(net: &Network, items: Vec<Set>) -> f64 {
            if items.len() == 1 {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for i in 0..items.len() {
                for j in i + 1..items.len() {
                    let mut rest = items.clone();
                    rest.remove(j);
                    rest.remove(i);
                    let outside = rest.iter().fold(net.output, |s, &t| s | t);
                    let union = items[i] | items[j];
                    let result = union & outside;
                    let flops = net.flops(net.volume(union), union, result);
                    rest.push(result);
                    best = best.min(flops + brute(net, rest));
                }
            }
            best
        }
        for n in 3..=6 {
            let (pattern, extents) = chain(n);
            let steps = plan_of(&pattern, |c| extents[(c as u8 - b'a') as usize]);
            check_linear(n, &steps);
            let (lhs, rhs) = pattern.split_once("->").unwrap();
            let inputs: Vec<Vec<Label>> = lhs.split(',').map(ids).collect();
            let lists: Vec<&[Label]> = inputs.iter().map(Vec::as_slice).collect();
            let extent = |l: Label| extents[usize::from(l - 26)];
            let net = Network::new(&lists, &ids(rhs), &extent).unwrap();
            assert_eq!(total(&steps), brute(&net, net.inputs.clone()), "{pattern}");
        }
    }

    #[test]
    fn greedy_plans_long_chains_linearly() {
        let (pattern, extents) = chain(14);
        let steps = plan_of(&pattern, |c| extents[(c as u8 - b'a') as usize]);
        check_linear(14, &steps);
        assert_eq!(steps.len(), 13);
        // Every step of a chain is a matrix product: at most 3 labels.
        assert!(steps.iter().all(|s| s.scaling <= 3));
    }

    #[test]
    fn labels_of_extent_one_make_room_for_large_ellipses() {
        // 200 distinct labels, all but two of extent 1: planned normally.
        let a: Vec<Label> = (ELLIPSIS..ELLIPSIS + 200).collect();
        let steps = plan(&[&a, &a[..1], &a[..2]], &[], |l| {
            if l < ELLIPSIS + 2 {
                3
            } else {
                1
            }
        });
        check_linear(3, &steps);
        assert!(steps.iter().all(|s| s.flops.is_finite()));
        // ... and without room, left to right.
        let steps = plan(&[&a, &a[..1], &a[..2]], &[], |_| 2);
        assert_eq!(pairs(&steps), [(0, Some(1)), (0, Some(1))]);
    }

    #[test]
    fn zero_extents_cost_nothing() {
        let steps = plan_of("ab,bc,cd->ad", |c| if c == 'b' { 0 } else { 3 });
        check_linear(3, &steps);
        assert_eq!(steps[0].flops, 0.0);
    }

    #[test]
    fn parses_like_the_macro() {
        let (inputs, output) = parse_pattern(" ij , jk ").unwrap();
        assert_eq!(inputs.len(), 2);
        assert_eq!(output.labels, ids("ik"));
        let (_, output) = parse_pattern("ba,...a").unwrap();
        assert_eq!((output.labels, output.ellipsis), (ids("b"), Some(0)));
        let (_, output) = parse_pattern("Ba,ab").unwrap();
        assert_eq!(output.labels, ids("Bb"));
        let (_, output) = parse_pattern("ii").unwrap();
        assert!(output.labels.is_empty());
        for bad in ["ij->k", "ij->ii", "i1", "i->j->k", "i......"] {
            let err = parse_pattern(bad).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::InvalidPattern { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn binds_ellipses_right_aligned_and_broadcasts_ones() {
        let path = einsum_path("...ij,...jk->...ik", &[&[5, 2, 3], &[3, 4]]).unwrap();
        assert_eq!(path.steps()[0].term(), "aij,jk->aik");
        let path = einsum_path("ij,jk->ik", &[&[2, 1], &[3, 4]]).unwrap();
        assert_eq!(path.flops(), 2.0 * 2.0 * 3.0 * 4.0);
        let err = einsum_path("ij,jk->ik", &[&[2, 3]]).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::OperandCount {
                expected: 2,
                found: 1
            }
        );
        let err = einsum_path("ij...,jk->ik", &[&[2], &[3, 4]]).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::RankMismatch { operand: 0, .. }
        ));
    }

    #[test]
    fn displays_a_table() {
        let path = einsum_path(
            "ea,fb,abcd,gc,hd->efgh",
            &[
                &[10, 10],
                &[10, 10],
                &[10, 10, 10, 10],
                &[10, 10],
                &[10, 10],
            ],
        )
        .unwrap();
        let text = path.to_string();
        assert!(
            text.contains("Complete contraction:  ea,fb,abcd,gc,hd->efgh"),
            "{text}"
        );
        assert!(text.contains("Naive FLOP count:  5.000e+08"), "{text}");
        assert!(text.contains("Optimized FLOP count:  8.000e+05"), "{text}");
        assert_eq!(path.scaling(), 5);
        assert_eq!(path.steps().last().unwrap().remaining(), "efgh->efgh");
        assert_eq!(Sci(1.5e-3).to_string(), "1.500e-03");
    }
}
