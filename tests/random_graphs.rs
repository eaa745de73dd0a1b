//! Property tests over randomly built computation graphs.
//!
//! A generator turns a handful of random numbers into a *program*: a few tracked leaves
//! ([`Var::new`]), a few constants ([`Var::constant`] and plain arrays), then a sequence of steps, each
//! of which makes one node from nodes made before it (any of them: leaves are reused, subexpressions
//! are shared, one step may take the same node twice, a node may reach the output by paths of
//! different lengths). The steps are elementwise functions, broadcasting `+ - * /` with nodes, arrays
//! and scalars, einsums with fixed compile-time patterns on `Var`s, arrays and transposed array views,
//! softmax, log-softmax and axis reductions. A final reduction of the last node (a sum, a mean, or an
//! einsum to a scalar, plain or weighted), plus the sums of about half of the other nodes that no step
//! reads, makes the scalar output.
//!
//! A program is data, so [`replay`] evaluates the same graph for [`gradcheck`] (once on tracked leaves
//! and backward, then on constants for the central differences) and again for the structural checks:
//! constants and intermediate nodes never hold a gradient, a leaf holds one exactly when the output
//! depends on it, every node needs a gradient exactly when it depends on a leaf, and a second backward
//! pass doubles every leaf gradient.
//!
//! Values stay well conditioned by construction: inputs lie in [-1, 1]; the only functions with a
//! singularity get arguments bounded away from it (`sqrt(1 + x^2)`, `ln(1 + x^2)`, division by
//! `1 + x^2` or by a scalar of magnitude at least 1/2); `relu` (a kink) is left out; and a node whose
//! value exceeds a small bound is multiplied by a power of two before it feeds another op (`exp` gets
//! a tighter bound). The generator computes those values once, when it builds the program.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::reference::{parse, RefPattern};
use common::rng::Rng;
use einsum_runtime::{einsum, gradcheck, Var};
use ndarray::{ArrayD, ArrayViewD};
use proptest::prelude::*;
use proptest::test_runner::Config;

// ---------------------------------------------------------------------------------------------------
// Shapes

/// Shapes of leaves, constants and arrays: mostly (2, 3), plus its transpose, a row, a column, vectors
/// and a 0-d value, so that broadcasting and every einsum pattern below find operands.
const SHAPES: [&[usize]; 8] = [&[2, 3], &[2, 3], &[3, 2], &[1, 3], &[2, 1], &[3], &[2], &[]];

/// numpy's broadcast of two shapes (right-aligned; extent 1 stretches).
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let ext = |s: &[usize], k: usize| (k + s.len()).checked_sub(n).map_or(1, |i| s[i]);
    (0..n)
        .map(|k| match (ext(a, k), ext(b, k)) {
            (x, y) if x == y || y == 1 => Some(x),
            (1, y) => Some(y),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// Einsum patterns: one list, used both by the generator (shape inference) and by the replay (the
// compile-time `einsum!` call for each pattern and each combination of operand kinds).

/// A borrowed einsum operand as the replay passes it.
enum Src<'a> {
    V(&'a Var<f64>),
    A(&'a ArrayD<f64>),
    T(ArrayViewD<'a, f64>),
}

macro_rules! einsum_patterns {
    (
        unary: [$($u:literal),* $(,)?],
        binary: [$($b:literal),* $(,)?],
        ternary: [$($t:literal),* $(,)?] $(,)?
    ) => {
        const UNARY: &[&str] = &[$($u),*];
        const BINARY: &[&str] = &[$($b),*];
        const TERNARY: &[&str] = &[$($t),*];

        fn einsum1(pattern: &str, x: &Var<f64>) -> Var<f64> {
            match pattern {
                $($u => einsum!($u, x),)*
                _ => unreachable!("unknown pattern {pattern}"),
            }
        }

        fn einsum2(pattern: &str, a: Src<'_>, b: Src<'_>) -> Var<f64> {
            match pattern {
                $($b => match (a, b) {
                    (Src::V(a), Src::V(b)) => einsum!($b, a, b),
                    (Src::V(a), Src::A(b)) => einsum!($b, a, b),
                    (Src::A(a), Src::V(b)) => einsum!($b, a, b),
                    (Src::V(a), Src::T(b)) => einsum!($b, a, b),
                    (Src::T(a), Src::V(b)) => einsum!($b, a, b),
                    _ => unreachable!("an einsum step has one Var operand and at most one array"),
                },)*
                _ => unreachable!("unknown pattern {pattern}"),
            }
        }

        fn einsum3(pattern: &str, a: Src<'_>, b: Src<'_>, c: Src<'_>) -> Var<f64> {
            match pattern {
                $($t => match (a, b, c) {
                    (Src::V(a), Src::V(b), Src::V(c)) => einsum!($t, a, b, c),
                    (Src::A(a), Src::V(b), Src::V(c)) => einsum!($t, a, b, c),
                    (Src::V(a), Src::A(b), Src::V(c)) => einsum!($t, a, b, c),
                    (Src::V(a), Src::V(b), Src::A(c)) => einsum!($t, a, b, c),
                    _ => unreachable!("an einsum step has at most one (untransposed) array"),
                },)*
                _ => unreachable!("unknown pattern {pattern}"),
            }
        }
    };
}

einsum_patterns! {
    unary: ["ij->ji", "ij->j", "ij->i", "ij->", "ii->i", "ii->", "i->", "...->", "...ij->...ji"],
    binary: [
        "ij,ij->ij",
        "ij,kj->ik",
        "ij,jk->ik",
        "ij,jk->ki",
        "ij,ij->",
        ",ij->ij",
        "i,->i",
        "i,j->ij",
        "i,i->",
        "ij,j->i",
        "i,ij->j",
        "...,...->...",
        "...i,...i->...",
    ],
    ternary: ["ij,jk,kl->il", "i,ij,j->", "ij,ij,ij->ij"],
}

/// The result shape of `pattern` on operands of `shapes` (`None` where an operand is missing or the
/// shapes do not fit): each operand's rank matches its term, a label repeated inside one term has one
/// extent there, a label's extents across operands agree or are 1 (the library broadcasts those), and
/// the `...` dimensions broadcast like numpy's. With `shapes` shorter than the pattern's operand list,
/// only the consistency of the operands given is checked (and `Some(vec![])` returned).
fn einsum_shape(pattern: &str, shapes: &[Option<&[usize]>]) -> Option<Vec<usize>> {
    let RefPattern {
        inputs: terms,
        output,
    } = parse(pattern);
    let out = output.expect("the patterns here have an explicit output");
    let mut extents: BTreeMap<u8, usize> = BTreeMap::new();
    let mut dots: Vec<usize> = Vec::new();
    let mut complete = shapes.len() == terms.len();
    for (k, term) in terms.iter().enumerate() {
        let Some(Some(shape)) = shapes.get(k) else {
            complete = false;
            continue;
        };
        let named = term.named();
        if shape.len() < named || (!term.ellipsis && shape.len() != named) {
            return None;
        }
        let after = &shape[shape.len() - term.after.len()..];
        let mut local: BTreeMap<u8, usize> = BTreeMap::new();
        for (&c, &e) in term
            .before
            .iter()
            .zip(&shape[..term.before.len()])
            .chain(term.after.iter().zip(after))
        {
            if *local.entry(c).or_insert(e) != e {
                return None; // a diagonal of a non-square operand
            }
        }
        for (c, e) in local {
            let g = extents.entry(c).or_insert(e);
            *g = broadcast(&[*g], &[e])?[0];
        }
        if term.ellipsis {
            dots = broadcast(
                &dots,
                &shape[term.before.len()..shape.len() - term.after.len()],
            )?;
        }
    }
    if !complete {
        return Some(Vec::new());
    }
    let mut result: Vec<usize> = out.before.iter().map(|c| extents[c]).collect();
    if out.ellipsis {
        result.extend(&dots);
    }
    result.extend(out.after.iter().map(|c| extents[c]));
    Some(result)
}

// ---------------------------------------------------------------------------------------------------
// Programs

#[derive(Debug, Clone, Copy, PartialEq)]
enum Un {
    Tanh,
    Sigmoid,
    Exp,
    /// `Var::neg`.
    Neg,
    /// The `-` operator.
    NegOp,
    Powi(i32),
    Sqrt,
    Ln,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Bin {
    Add,
    Sub,
    Mul,
    Div,
}

/// The right operand of a binary step.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rhs {
    Node(usize),
    /// A plain array (a constant).
    Arr(usize),
    Scalar(f64),
}

/// An einsum operand.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Opnd {
    Node(usize),
    Arr(usize),
    /// A transposed view of a 2-d array (non-standard strides).
    ArrT(usize),
}

/// One step: makes one node from earlier nodes (by index).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Un(Un, usize),
    Bin(Bin, usize, Rhs),
    /// `scalar op node`.
    ScalarLhs(Bin, f64, usize),
    Einsum(&'static str, Vec<Opnd>),
    Softmax(usize, usize),
    LogSoftmax(usize, usize),
    SumAxes(usize, Vec<usize>),
    MeanAxes(usize, Vec<usize>),
    Sum(usize),
    Mean(usize),
}

impl Step {
    /// The nodes this step reads, with repetitions.
    fn inputs(&self) -> Vec<usize> {
        match self {
            Step::Un(_, x)
            | Step::ScalarLhs(_, _, x)
            | Step::Softmax(x, _)
            | Step::LogSoftmax(x, _)
            | Step::SumAxes(x, _)
            | Step::MeanAxes(x, _)
            | Step::Sum(x)
            | Step::Mean(x) => vec![*x],
            Step::Bin(_, x, Rhs::Node(y)) => vec![*x, *y],
            Step::Bin(_, x, _) => vec![*x],
            Step::Einsum(_, ops) => ops
                .iter()
                .filter_map(|o| match o {
                    Opnd::Node(i) => Some(*i),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// How the last node becomes the scalar output.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Final {
    Sum,
    Mean,
    /// `einsum!("...->", x)`.
    EinsumAll,
    /// `einsum!("ij->", x)` (2-d only; otherwise `EinsumAll`).
    EinsumIj,
    /// `einsum!("...,...->", x, weight)`.
    EinsumWeighted,
    /// `(x * weight).sum()`.
    MulSum,
}

const FINALS: [Final; 6] = [
    Final::Sum,
    Final::Mean,
    Final::EinsumAll,
    Final::EinsumIj,
    Final::EinsumWeighted,
    Final::MulSum,
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Leaf,
    Constant,
    Op,
}

#[derive(Debug, Clone)]
struct Meta {
    kind: Kind,
    shape: Vec<usize>,
    /// The node's largest absolute value at the program's inputs.
    max_abs: f64,
    /// Whether the node depends on a leaf.
    tracked: bool,
}

#[derive(Debug, Clone)]
struct Program {
    leaves: Vec<ArrayD<f64>>,
    constants: Vec<ArrayD<f64>>,
    arrays: Vec<ArrayD<f64>>,
    /// Node `i < leaves.len()` is a leaf, then come the constants, then one node per step.
    steps: Vec<Step>,
    meta: Vec<Meta>,
    finish: Final,
    /// Weights of the weighted final reductions, shaped like the last node.
    weight: ArrayD<f64>,
    /// Other nodes that no step reads whose sums are added to the output (about half of them), so
    /// that side branches feed the output too.
    extra: Vec<usize>,
}

/// The raw random description that proptest generates and shrinks; [`build`] turns any such value
/// into a valid program.
#[derive(Debug, Clone)]
struct Raw {
    leaf_shapes: Vec<usize>,
    constant_shapes: Vec<usize>,
    array_shapes: Vec<usize>,
    /// `(op kind, seed of the op's choices)`.
    ops: Vec<(u8, u64)>,
    finish: usize,
    seed: u64,
}

const OP_KINDS: u8 = 27;

fn raw_strategy() -> impl Strategy<Value = Raw> {
    (
        prop::collection::vec(0..SHAPES.len(), 2..=4),
        prop::collection::vec(0..SHAPES.len(), 1..=2),
        prop::collection::vec(0..SHAPES.len(), 1..=3),
        prop::collection::vec((0..OP_KINDS, any::<u64>()), 4..=12),
        0..FINALS.len(),
        any::<u64>(),
    )
        .prop_map(
            |(leaf_shapes, constant_shapes, array_shapes, ops, finish, seed)| Raw {
                leaf_shapes,
                constant_shapes,
                array_shapes,
                ops,
                finish,
                seed,
            },
        )
}

/// Largest absolute value of an operand of most ops; a larger node is scaled down first.
const LIMIT: f64 = 3.0;
/// The same for the argument of `exp`.
const EXP_LIMIT: f64 = 1.5;

fn max_abs(v: &Var<f64>) -> f64 {
    v.data().iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Evaluates one step on the values made so far.
fn eval_step(step: &Step, v: &[Var<f64>], arrays: &[ArrayD<f64>]) -> Var<f64> {
    fn apply<R: einsum_runtime::IntoVar<f64>>(op: Bin, a: &Var<f64>, r: R) -> Var<f64> {
        match op {
            Bin::Add => a + r,
            Bin::Sub => a - r,
            Bin::Mul => a * r,
            Bin::Div => a / r,
        }
    }
    let src = |o: &Opnd| match *o {
        Opnd::Node(i) => Src::V(&v[i]),
        Opnd::Arr(k) => Src::A(&arrays[k]),
        Opnd::ArrT(k) => Src::T(arrays[k].t()),
    };
    match step {
        Step::Un(op, x) => {
            let x = &v[*x];
            match op {
                Un::Tanh => x.tanh(),
                Un::Sigmoid => x.sigmoid(),
                Un::Exp => x.exp(),
                Un::Neg => x.neg(),
                Un::NegOp => -x,
                Un::Powi(n) => x.powi(*n),
                Un::Sqrt => x.sqrt(),
                Un::Ln => x.ln(),
            }
        }
        Step::Bin(op, a, rhs) => {
            let a = &v[*a];
            match *rhs {
                // Owned and borrowed right operands take different operator impls.
                Rhs::Node(j) if j % 2 == 0 => apply(*op, a, &v[j]),
                Rhs::Node(j) => apply(*op, a, v[j].clone()),
                Rhs::Arr(k) => apply(*op, a, &arrays[k]),
                Rhs::Scalar(s) => apply(*op, a, s),
            }
        }
        Step::ScalarLhs(op, s, x) => {
            let x = &v[*x];
            match op {
                Bin::Add => *s + x,
                Bin::Sub => *s - x,
                Bin::Mul => *s * x,
                Bin::Div => *s / x,
            }
        }
        Step::Einsum(pattern, ops) => match ops.as_slice() {
            [Opnd::Node(i)] => einsum1(pattern, &v[*i]),
            [a, b] => einsum2(pattern, src(a), src(b)),
            [a, b, c] => einsum3(pattern, src(a), src(b), src(c)),
            _ => unreachable!("einsum step {step:?}"),
        },
        Step::Softmax(x, axis) => v[*x].softmax(*axis),
        Step::LogSoftmax(x, axis) => v[*x].log_softmax(*axis),
        Step::SumAxes(x, axes) => v[*x].sum_axes(axes),
        Step::MeanAxes(x, axes) => v[*x].mean_axes(axes),
        Step::Sum(x) => v[*x].sum(),
        Step::Mean(x) => v[*x].mean(),
    }
}

/// Evaluates the program on `leaves` (tracked or constant): every node, and the scalar output.
fn replay(p: &Program, leaves: &[Var<f64>]) -> (Vec<Var<f64>>, Var<f64>) {
    assert_eq!(leaves.len(), p.leaves.len());
    let mut v: Vec<Var<f64>> = leaves.to_vec();
    v.extend(p.constants.iter().cloned().map(Var::constant));
    for (k, step) in p.steps.iter().enumerate() {
        let y = eval_step(step, &v, &p.arrays);
        assert_eq!(
            y.shape(),
            p.meta[v.len()].shape,
            "step {k} ({step:?}) has an unexpected shape"
        );
        v.push(y);
    }
    let last = v.last().expect("a program has nodes");
    let out = match p.finish {
        Final::Sum => last.sum(),
        Final::Mean => last.mean(),
        Final::EinsumAll => einsum!("...->", last),
        Final::EinsumIj if last.shape().len() == 2 => einsum!("ij->", last),
        Final::EinsumIj => einsum!("...->", last),
        Final::EinsumWeighted => einsum!("...,...->", last, p.weight),
        Final::MulSum => (last * &p.weight).sum(),
    };
    let out = p.extra.iter().fold(out, |acc, &k| acc + v[k].sum());
    (v, out)
}

/// Builds programs: keeps the shape and value of every node so that each new step gets operands it
/// accepts, and scales down nodes that grew large.
struct Builder {
    arrays: Vec<ArrayD<f64>>,
    steps: Vec<Step>,
    meta: Vec<Meta>,
    /// The value of every node at the program's inputs (as constants).
    values: Vec<Var<f64>>,
}

impl Builder {
    fn push(&mut self, step: Step) -> usize {
        let value = eval_step(&step, &self.values, &self.arrays);
        let m = max_abs(&value);
        let tracked = step.inputs().iter().any(|&j| self.meta[j].tracked);
        assert!(m.is_finite(), "{step:?} made a non-finite value");
        self.meta.push(Meta {
            kind: Kind::Op,
            shape: value.shape(),
            max_abs: m,
            tracked,
        });
        self.values.push(value);
        self.steps.push(step);
        self.meta.len() - 1
    }

    fn shape(&self, i: usize) -> &[usize] {
        &self.meta[i].shape
    }

    /// Node `i`, or `i` times a power of two if its values exceed `limit` (then at most 1).
    fn tame(&mut self, i: usize, limit: f64) -> usize {
        let m = self.meta[i].max_abs;
        if m <= limit {
            return i;
        }
        let scale = 2f64.powi(-(m.log2().ceil() as i32));
        self.push(Step::Bin(Bin::Mul, i, Rhs::Scalar(scale)))
    }

    /// Tames every node operand of an einsum, each distinct node once (so `x` used twice stays one
    /// node).
    fn tame_all(&mut self, ops: &mut [Opnd]) {
        let mut done: BTreeMap<usize, usize> = BTreeMap::new();
        for o in ops.iter_mut() {
            if let Opnd::Node(i) = o {
                let t = match done.get(i) {
                    Some(&t) => t,
                    None => self.tame(*i, LIMIT),
                };
                done.insert(*i, t);
                *i = t;
            }
        }
    }

    /// One of `candidates` (nonempty) as the main operand of an op: mostly the newest (so chains
    /// grow deep and most steps feed the output), else any; mostly one that depends on a leaf, so that few outputs are
    /// constants.
    fn pick(&self, rng: &mut Rng, candidates: &[usize]) -> usize {
        let tracked: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| self.meta[i].tracked)
            .collect();
        let from = if tracked.is_empty() || rng.below(8) == 0 {
            candidates
        } else {
            &tracked
        };
        if rng.below(4) != 0 {
            *from.iter().max().expect("nonempty")
        } else {
            from[rng.below(from.len())]
        }
    }

    fn nodes_where(&self, f: impl Fn(&[usize]) -> bool) -> Vec<usize> {
        (0..self.meta.len()).filter(|&i| f(self.shape(i))).collect()
    }

    /// A second operand among `candidates` (nonempty): a third of the time a leaf if one fits (so
    /// that outputs depend on several leaves), else any.
    fn second(&self, rng: &mut Rng, candidates: &[usize]) -> usize {
        let leaves: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| self.meta[i].kind == Kind::Leaf)
            .collect();
        if !leaves.is_empty() && rng.below(3) == 0 {
            leaves[rng.below(leaves.len())]
        } else {
            candidates[rng.below(candidates.len())]
        }
    }

    /// A node broadcast-compatible with `a`; with `twice`, a quarter of the time `a` itself.
    fn partner(&self, rng: &mut Rng, a: usize, twice: bool) -> usize {
        if twice && rng.below(4) == 0 {
            return a;
        }
        let sa = self.shape(a).to_vec();
        let cands = self.nodes_where(|s| broadcast(&sa, s).is_some());
        self.second(rng, &cands)
    }

    /// `x * x` (one node used twice by one op), then `c + x*x` as `scalar + node`.
    fn one_plus_square(&mut self, x: usize, c: f64) -> usize {
        let sq = self.push(Step::Bin(Bin::Mul, x, Rhs::Node(x)));
        self.push(Step::ScalarLhs(Bin::Add, c, sq))
    }

    /// Adds the steps of one raw op.
    fn op(&mut self, kind: u8, seed: u64) {
        let mut rng = Rng::new(seed);
        let all: Vec<usize> = (0..self.meta.len()).collect();
        let x = self.pick(&mut rng, &all);
        match kind {
            0..=4 => {
                let op = [Un::Tanh, Un::Sigmoid, Un::Exp, Un::Neg, Un::NegOp][kind as usize];
                let x = self.tame(x, if op == Un::Exp { EXP_LIMIT } else { LIMIT });
                self.push(Step::Un(op, x));
            }
            5 => {
                let x = self.tame(x, LIMIT);
                self.push(Step::Un(Un::Powi(2 + rng.below(2) as i32), x));
            }
            6 => {
                // sqrt(x*x + 1)
                let x = self.tame(x, LIMIT);
                let d = self.one_plus_square(x, 1.0);
                self.push(Step::Un(Un::Sqrt, d));
            }
            7 => {
                // ln(1 + x*x)
                let x = self.tame(x, LIMIT);
                let d = self.one_plus_square(x, 1.0);
                self.push(Step::Un(Un::Ln, d));
            }
            8..=10 => {
                let op = [Bin::Add, Bin::Sub, Bin::Mul][kind as usize - 8];
                // x - x is identically zero: possible, but not made more likely.
                let y = self.partner(&mut rng, x, op != Bin::Sub);
                let x2 = self.tame(x, LIMIT);
                let y = if y == x { x2 } else { self.tame(y, LIMIT) };
                self.push(Step::Bin(op, x2, Rhs::Node(y)));
            }
            11 => {
                // x / (1 + y*y)
                let y = self.partner(&mut rng, x, true);
                let x2 = self.tame(x, LIMIT);
                let y = if y == x { x2 } else { self.tame(y, LIMIT) };
                let d = self.one_plus_square(y, 1.0);
                self.push(Step::Bin(Bin::Div, x2, Rhs::Node(d)));
            }
            12 => {
                // With a plain array on the right (a constant), broadcasting.
                let sx = self.shape(x).to_vec();
                let arrays: Vec<usize> = (0..self.arrays.len())
                    .filter(|&k| broadcast(&sx, self.arrays[k].shape()).is_some())
                    .collect();
                let op = [Bin::Add, Bin::Sub, Bin::Mul][rng.below(3)];
                let x = self.tame(x, LIMIT);
                let rhs = if arrays.is_empty() {
                    Rhs::Scalar(0.5)
                } else {
                    Rhs::Arr(arrays[rng.below(arrays.len())])
                };
                self.push(Step::Bin(op, x, rhs));
            }
            13 => {
                // With a scalar: on the right, or on the left (then dividing by 1 + x*x).
                let s =
                    [0.5, 1.0, 1.5, 2.0][rng.below(4)] * if rng.chance(0.5) { -1.0 } else { 1.0 };
                let x = self.tame(x, LIMIT);
                match rng.below(8) {
                    k @ 0..=3 => {
                        self.push(Step::Bin(
                            [Bin::Add, Bin::Sub, Bin::Mul, Bin::Div][k],
                            x,
                            Rhs::Scalar(s),
                        ));
                    }
                    k @ 4..=6 => {
                        self.push(Step::ScalarLhs([Bin::Add, Bin::Sub, Bin::Mul][k - 4], s, x));
                    }
                    _ => {
                        let d = self.one_plus_square(x, 1.0);
                        self.push(Step::ScalarLhs(Bin::Div, s, d));
                    }
                }
            }
            14..=15 => self.einsum(&mut rng, UNARY),
            16..=19 => self.einsum(&mut rng, BINARY),
            20 => self.einsum(&mut rng, TERNARY),
            21 => {
                // einsum!("ij,jk->ik", a, einsum!("ij->ji", b)): a product with a transposed Var.
                let mats = self.nodes_where(|s| s.len() == 2);
                if mats.is_empty() {
                    return self.op(0, seed);
                }
                let a = self.pick(&mut rng, &mats);
                let j = self.shape(a)[1];
                let bs = self.nodes_where(|s| s.len() == 2 && broadcast(&[j], &[s[1]]).is_some());
                let b = self.second(&mut rng, &bs);
                let mut ops = [Opnd::Node(a), Opnd::Node(b)];
                self.tame_all(&mut ops);
                let [Opnd::Node(a), Opnd::Node(b)] = ops else {
                    unreachable!()
                };
                let bt = self.push(Step::Einsum("ij->ji", vec![Opnd::Node(b)]));
                self.push(Step::Einsum(
                    "ij,jk->ik",
                    vec![Opnd::Node(a), Opnd::Node(bt)],
                ));
            }
            22 => {
                let cands = self.nodes_where(|s| !s.is_empty());
                let x = self.pick(&mut rng, &cands);
                let axis = rng.below(self.shape(x).len());
                let x = self.tame(x, LIMIT);
                if rng.chance(0.5) {
                    self.push(Step::Softmax(x, axis));
                } else {
                    self.push(Step::LogSoftmax(x, axis));
                }
            }
            23 => {
                // A random subset of the axes (possibly none or all), in random order.
                let mut axes: Vec<usize> = (0..self.shape(x).len())
                    .filter(|_| rng.chance(0.5))
                    .collect();
                if rng.chance(0.5) {
                    axes.reverse();
                }
                let x = self.tame(x, LIMIT);
                if rng.chance(0.5) {
                    self.push(Step::SumAxes(x, axes));
                } else {
                    self.push(Step::MeanAxes(x, axes));
                }
            }
            24 => {
                let x = self.tame(x, LIMIT);
                if rng.chance(0.5) {
                    self.push(Step::Sum(x));
                } else {
                    self.push(Step::Mean(x));
                }
            }
            25 => {
                // x * x
                let x = self.tame(x, LIMIT);
                self.push(Step::Bin(Bin::Mul, x, Rhs::Node(x)));
            }
            _ => {
                // x - y with y on a different path: (x + y) - y
                let y = self.partner(&mut rng, x, true);
                let x2 = self.tame(x, LIMIT);
                let y = if y == x { x2 } else { self.tame(y, LIMIT) };
                let s = self.push(Step::Bin(Bin::Add, x2, Rhs::Node(y)));
                self.push(Step::Bin(Bin::Sub, s, Rhs::Node(y)));
            }
        }
    }

    /// An einsum with a pattern from `table`, operands fitting it; falls back to `tanh` when no node
    /// fits.
    fn einsum(&mut self, rng: &mut Rng, table: &[&'static str]) {
        let pattern = table[rng.below(table.len())];
        let arity = parse(pattern).inputs.len();
        // The Var operand chosen first sits at position 0 or 1; the others may be arrays.
        let primary = rng.below(arity.min(2));
        let mut chosen: Vec<Option<Opnd>> = vec![None; arity];
        let shape_of = |b: &Builder, o: &Opnd| -> Vec<usize> {
            match *o {
                Opnd::Node(i) => b.shape(i).to_vec(),
                Opnd::Arr(k) => b.arrays[k].shape().to_vec(),
                Opnd::ArrT(k) => b.arrays[k].shape().iter().rev().copied().collect(),
            }
        };
        let order = std::iter::once(primary).chain((0..arity).filter(|&k| k != primary));
        for pos in order.collect::<Vec<_>>() {
            let fits = |b: &Builder, o: &Opnd| {
                let shapes: Vec<Vec<usize>> = chosen
                    .iter()
                    .enumerate()
                    .map(|(k, c)| match (k == pos, c) {
                        (true, _) => shape_of(b, o),
                        (false, Some(c)) => shape_of(b, c),
                        (false, None) => Vec::new(),
                    })
                    .collect();
                let given: Vec<Option<&[usize]>> = shapes
                    .iter()
                    .enumerate()
                    .map(|(k, s)| (k == pos || chosen[k].is_some()).then_some(s.as_slice()))
                    .collect();
                einsum_shape(pattern, &given).is_some()
            };
            let nodes: Vec<usize> = (0..self.meta.len())
                .filter(|&i| fits(self, &Opnd::Node(i)))
                .collect();
            let pick = if pos == primary {
                if nodes.is_empty() {
                    return self.op(0, rng.next_u64());
                }
                Opnd::Node(self.pick(rng, &nodes))
            } else {
                let has_array = chosen
                    .iter()
                    .any(|c| !matches!(c, Some(Opnd::Node(_)) | None));
                let mut arrays: Vec<Opnd> = Vec::new();
                if !has_array {
                    for k in 0..self.arrays.len() {
                        arrays.push(Opnd::Arr(k));
                        if arity == 2 && self.arrays[k].ndim() == 2 {
                            arrays.push(Opnd::ArrT(k));
                        }
                    }
                    arrays.retain(|o| fits(self, o));
                }
                if !arrays.is_empty() && (nodes.is_empty() || rng.below(3) == 0) {
                    arrays[rng.below(arrays.len())]
                } else if !nodes.is_empty() {
                    Opnd::Node(self.second(rng, &nodes))
                } else {
                    return self.op(0, rng.next_u64());
                }
            };
            chosen[pos] = Some(pick);
        }
        let mut ops: Vec<Opnd> = chosen.into_iter().map(|c| c.expect("chosen")).collect();
        self.tame_all(&mut ops);
        self.push(Step::Einsum(pattern, ops));
    }
}

/// Turns a raw description into a program.
fn build(raw: &Raw) -> Program {
    let mut rng = Rng::new(raw.seed);
    // The first leaf is always (2, 3), the shape most ops accept.
    let leaves: Vec<ArrayD<f64>> = raw
        .leaf_shapes
        .iter()
        .enumerate()
        .map(|(k, &s)| rng.array(SHAPES[if k == 0 { 0 } else { s }], -1.0, 1.0))
        .collect();
    let constants: Vec<ArrayD<f64>> = raw
        .constant_shapes
        .iter()
        .map(|&s| rng.array(SHAPES[s], -1.0, 1.0))
        .collect();
    let arrays: Vec<ArrayD<f64>> = raw
        .array_shapes
        .iter()
        .map(|&s| rng.array(SHAPES[s], -1.0, 1.0))
        .collect();
    let mut b = Builder {
        arrays,
        steps: Vec::new(),
        meta: Vec::new(),
        values: Vec::new(),
    };
    for (kind, values) in [(Kind::Leaf, &leaves), (Kind::Constant, &constants)] {
        for x in values {
            b.meta.push(Meta {
                kind,
                shape: x.shape().to_vec(),
                max_abs: x.iter().fold(0.0, |m, v| m.max(v.abs())),
                tracked: kind == Kind::Leaf,
            });
            b.values.push(Var::constant(x.clone()));
        }
    }
    for &(kind, seed) in &raw.ops {
        b.op(kind % OP_KINDS, seed);
    }
    let last = b.meta.len() - 1;
    let weight = rng.array(&b.meta[last].shape, -1.0, 1.0);
    let n_fixed = leaves.len() + constants.len();
    let mut read = vec![false; b.meta.len()];
    for step in &b.steps {
        for j in step.inputs() {
            read[j] = true;
        }
    }
    let extra: Vec<usize> = (n_fixed..last)
        .filter(|&i| !read[i])
        .filter(|_| rng.chance(0.5))
        .collect();
    Program {
        leaves,
        constants,
        arrays: b.arrays,
        steps: b.steps,
        meta: b.meta,
        finish: FINALS[raw.finish % FINALS.len()],
        weight,
        extra,
    }
}

// ---------------------------------------------------------------------------------------------------
// Graph facts the checks need, computed from the program alone

impl Program {
    fn n_nodes(&self) -> usize {
        self.meta.len()
    }

    fn step_of(&self, node: usize) -> Option<&Step> {
        node.checked_sub(self.leaves.len() + self.constants.len())
            .map(|k| &self.steps[k])
    }

    /// Whether each node depends on some leaf (so needs a gradient).
    fn depends_on_leaf(&self) -> Vec<bool> {
        let mut dep = vec![false; self.n_nodes()];
        for i in 0..self.n_nodes() {
            dep[i] = match self.step_of(i) {
                None => self.meta[i].kind == Kind::Leaf,
                Some(step) => step.inputs().iter().any(|&j| dep[j]),
            };
        }
        dep
    }

    /// Whether the output depends on each node (the last node, the extra terms, their ancestors).
    fn reaches_output(&self) -> Vec<bool> {
        let mut reach = vec![false; self.n_nodes()];
        reach[self.n_nodes() - 1] = true;
        for &k in &self.extra {
            reach[k] = true;
        }
        for i in (0..self.n_nodes()).rev() {
            if reach[i] {
                if let Some(step) = self.step_of(i) {
                    for j in step.inputs() {
                        reach[j] = true;
                    }
                }
            }
        }
        reach
    }

    /// For each node, the shortest and longest path (in steps) to the last node or an extra output
    /// term, if any.
    fn path_lengths(&self) -> Vec<Option<(usize, usize)>> {
        let n = self.n_nodes();
        let mut len: Vec<Option<(usize, usize)>> = vec![None; n];
        for k in self.extra.iter().copied().chain([n - 1]) {
            len[k] = Some((0, 0));
        }
        for i in (0..n).rev() {
            let Some((lo, hi)) = len[i] else { continue };
            if let Some(step) = self.step_of(i) {
                for j in step.inputs() {
                    len[j] = Some(match len[j] {
                        None => (lo + 1, hi + 1),
                        Some((a, b)) => (a.min(lo + 1), b.max(hi + 1)),
                    });
                }
            }
        }
        len
    }
}

// ---------------------------------------------------------------------------------------------------
// The checks

const EPS: f64 = 1e-6;
/// On `|analytic - numeric| / max(1, |numeric|)`. Central differences with `EPS` in f64 on these
/// well-conditioned programs are good to about 1e-8: the largest error seen over 6,000 programs was
/// 3.3e-9 (and 60,000 more, with up to 30 ops, passed), a margin of 300 that still catches any wrong
/// derivative.
const TOL: f64 = 1e-6;

fn check_program(p: &Program) -> Result<(), TestCaseError> {
    let n_leaves = p.leaves.len();

    // 1. The gradient of every leaf element against central differences.
    let report = gradcheck(|v: &[Var<f64>]| replay(p, v).1, &p.leaves, EPS, TOL)
        .map_err(|e| TestCaseError::fail(format!("{e}\nprogram: {p:#?}")))?;
    let elements: usize = p.leaves.iter().map(ArrayD::len).sum();
    prop_assert_eq!(report.checked, elements);

    // 2. Which nodes hold gradients, and a second backward pass.
    let leaves: Vec<Var<f64>> = p.leaves.iter().cloned().map(Var::new).collect();
    let (nodes, out) = replay(p, &leaves);
    let dep = p.depends_on_leaf();
    let reach = p.reaches_output();
    for (i, node) in nodes.iter().enumerate() {
        prop_assert_eq!(
            node.requires_grad(),
            dep[i],
            "node {} ({:?}) requires_grad",
            i,
            p.step_of(i)
        );
    }
    let used = (0..n_leaves).any(|i| reach[i]);
    prop_assert_eq!(out.requires_grad(), used);

    out.backward();
    let once: Vec<Option<ArrayD<f64>>> = leaves.iter().map(Var::grad).collect();
    let holds_gradients_as_expected = |pass: &str| -> Result<(), TestCaseError> {
        for (i, node) in nodes.iter().enumerate() {
            let g = node.grad();
            match p.meta[i].kind {
                Kind::Leaf => prop_assert_eq!(
                    g.is_some(),
                    reach[i],
                    "{}: leaf {} reaches the output: {}",
                    pass,
                    i,
                    reach[i]
                ),
                Kind::Constant => {
                    prop_assert!(g.is_none(), "{}: constant {} got a gradient", pass, i)
                }
                Kind::Op => prop_assert!(
                    g.is_none(),
                    "{}: intermediate node {} ({:?}) holds a gradient",
                    pass,
                    i,
                    p.step_of(i)
                ),
            }
            if let Some(g) = g {
                prop_assert_eq!(g.shape(), p.meta[i].shape.as_slice());
                prop_assert!(g.iter().all(|x| x.is_finite()), "{}: {}", pass, g);
            }
        }
        Ok(())
    };
    holds_gradients_as_expected("after one backward")?;

    out.backward();
    holds_gradients_as_expected("after two backwards")?;
    for (i, (leaf, g1)) in leaves.iter().zip(&once).enumerate() {
        match (g1, leaf.grad()) {
            (Some(g1), Some(g2)) => {
                // Both passes compute the same numbers, and g + g = 2 g exactly.
                prop_assert_eq!(&g2, &g1.mapv(|x| 2.0 * x), "leaf {}", i);
            }
            (None, None) => {}
            (g1, g2) => prop_assert!(false, "leaf {}: {:?} then {:?}", i, g1, g2),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(Config {
        cases: 128,
        // Failures are reported with the raw description; nothing is written into the tree.
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn random_graphs_gradcheck(raw in raw_strategy()) {
        let p = build(&raw);
        check_program(&p)?;
    }
}

// ---------------------------------------------------------------------------------------------------
// The generator covers what it claims

/// What a program exercises, as short names.
fn features(p: &Program) -> BTreeSet<String> {
    let mut f: BTreeSet<String> = BTreeSet::new();
    let mut add = |s: String| {
        f.insert(s);
    };
    for (k, step) in p.steps.iter().enumerate() {
        let node = p.leaves.len() + p.constants.len() + k;
        let inputs = step.inputs();
        if inputs.iter().collect::<BTreeSet<_>>().len() < inputs.len() {
            add("a node used twice by one op".into());
        }
        if inputs.iter().any(|&j| p.meta[j].kind == Kind::Constant) {
            add("a Var constant operand".into());
        }
        if inputs.iter().any(|&j| p.meta[j].kind == Kind::Leaf) {
            add("a leaf operand".into());
        }
        if p.meta[node].shape.is_empty() {
            add("a 0-d node".into());
        }
        match step {
            Step::Un(op, _) => add(format!("unary {op:?}")),
            Step::Bin(op, a, rhs) => {
                let kind = match rhs {
                    Rhs::Node(_) => "node",
                    Rhs::Arr(_) => "array",
                    Rhs::Scalar(_) => "scalar",
                };
                add(format!("{op:?} with a {kind}"));
                if let Rhs::Node(b) = rhs {
                    let (sa, sb) = (&p.meta[*a].shape, &p.meta[*b].shape);
                    if sa != sb {
                        add("broadcasting between nodes".into());
                    }
                    for s in [sa, sb] {
                        if s.len() == 2 && s.contains(&1) {
                            add(format!("broadcasting a {s:?} node"));
                        }
                    }
                }
            }
            Step::ScalarLhs(op, _, _) => add(format!("scalar {op:?} node")),
            Step::Einsum(pattern, ops) => {
                add(format!("einsum {pattern}"));
                let kinds: Vec<&str> = ops
                    .iter()
                    .map(|o| match o {
                        Opnd::Node(_) => "V",
                        Opnd::Arr(_) => "A",
                        Opnd::ArrT(_) => "T",
                    })
                    .collect();
                add(format!("einsum operands {}", kinds.join("")));
                // A label whose extents differ (one is 1) across operands.
                let shapes: Vec<Vec<usize>> = ops
                    .iter()
                    .map(|o| match *o {
                        Opnd::Node(i) => p.meta[i].shape.clone(),
                        Opnd::Arr(k) => p.arrays[k].shape().to_vec(),
                        Opnd::ArrT(k) => p.arrays[k].shape().iter().rev().copied().collect(),
                    })
                    .collect();
                let terms = parse(pattern).inputs;
                let mut ext: BTreeMap<u8, BTreeSet<usize>> = BTreeMap::new();
                for (t, s) in terms.iter().zip(&shapes) {
                    if !t.ellipsis {
                        for (c, e) in t.before.iter().zip(s) {
                            ext.entry(*c).or_default().insert(*e);
                        }
                    }
                }
                if ext.values().any(|e| e.len() > 1) {
                    add("einsum label broadcasting".into());
                }
            }
            Step::Softmax(..) => add("softmax".into()),
            Step::LogSoftmax(..) => add("log_softmax".into()),
            Step::SumAxes(x, axes) | Step::MeanAxes(x, axes) => {
                let name = if matches!(step, Step::SumAxes(..)) {
                    "sum_axes"
                } else {
                    "mean_axes"
                };
                add(name.into());
                if axes.is_empty() {
                    add(format!("{name} of no axis"));
                }
                if !axes.is_empty() && axes.len() == p.meta[*x].shape.len() {
                    add(format!("{name} of every axis"));
                }
                if axes.windows(2).any(|w| w[0] > w[1]) {
                    add(format!("{name} with axes out of order"));
                }
            }
            Step::Sum(_) => add("sum".into()),
            Step::Mean(_) => add("mean".into()),
        }
    }
    add(format!("final {:?}", p.finish));
    let reach = p.reaches_output();
    if (0..p.leaves.len()).any(|i| !reach[i]) {
        add("an unused leaf".into());
    }
    if (0..p.leaves.len()).filter(|&i| reach[i]).count() >= 2 {
        add("two leaves reach the output".into());
    }
    if p.path_lengths().iter().flatten().any(|(lo, hi)| lo != hi) {
        add("a node reached by paths of different lengths".into());
    }
    if p.path_lengths().iter().flatten().any(|&(_, hi)| hi >= 6) {
        add("a path of 6 steps".into());
    }
    let dep = p.depends_on_leaf();
    if !dep[p.n_nodes() - 1] && p.extra.iter().all(|&k| !dep[k]) {
        add("a constant output".into());
    }
    if !p.extra.is_empty() {
        add("extra output terms".into());
    }
    f
}

/// Builds many programs (cheap: no gradients) and checks that together they exercise every op,
/// pattern, operand combination and graph feature the generator is meant to produce. This keeps the
/// random test honest: a generator change that silently stops producing, say, transposed array
/// operands fails here.
#[test]
fn generator_covers_every_op_and_graph_feature() {
    let mut rng = Rng::new(0xC0FF_EE00);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut steps = 0;
    for _ in 0..1500 {
        let mut shapes = |lo: usize, hi: usize| -> Vec<usize> {
            (0..lo + rng.below(hi - lo + 1))
                .map(|_| rng.below(SHAPES.len()))
                .collect()
        };
        let (leaf_shapes, constant_shapes, array_shapes) =
            (shapes(2, 4), shapes(1, 2), shapes(1, 3));
        let n_ops = 4 + rng.below(9);
        let raw = Raw {
            leaf_shapes,
            constant_shapes,
            array_shapes,
            ops: (0..n_ops)
                .map(|_| (rng.below(OP_KINDS as usize) as u8, rng.next_u64()))
                .collect(),
            finish: rng.below(FINALS.len()),
            seed: rng.next_u64(),
        };
        let p = build(&raw);
        steps += p.steps.len();
        // Replaying on constants reproduces the shapes the builder recorded (replay asserts them).
        let leaves: Vec<Var<f64>> = p.leaves.iter().cloned().map(Var::constant).collect();
        let (_, out) = replay(&p, &leaves);
        assert_eq!(out.data().len(), 1);
        assert!(out.item().is_finite());
        seen.extend(features(&p));
    }
    let mut wanted: Vec<String> = [
        "a node used twice by one op",
        "a Var constant operand",
        "a leaf operand",
        "a 0-d node",
        "Add with a node",
        "Sub with a node",
        "Mul with a node",
        "Div with a node",
        "Add with a array",
        "Sub with a array",
        "Mul with a array",
        "Add with a scalar",
        "Sub with a scalar",
        "Mul with a scalar",
        "Div with a scalar",
        "scalar Add node",
        "scalar Sub node",
        "scalar Mul node",
        "scalar Div node",
        "broadcasting between nodes",
        "broadcasting a [1, 3] node",
        "broadcasting a [2, 1] node",
        "einsum operands V",
        "einsum operands VV",
        "einsum operands VA",
        "einsum operands AV",
        "einsum operands VT",
        "einsum operands TV",
        "einsum operands VVV",
        "einsum operands AVV",
        "einsum operands VAV",
        "einsum operands VVA",
        "einsum label broadcasting",
        "softmax",
        "log_softmax",
        "sum_axes",
        "mean_axes",
        "sum_axes of no axis",
        "sum_axes of every axis",
        "sum_axes with axes out of order",
        "mean_axes of every axis",
        "sum",
        "mean",
        "an unused leaf",
        "two leaves reach the output",
        "a node reached by paths of different lengths",
        "a path of 6 steps",
        "a constant output",
        "extra output terms",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    wanted.extend(
        UNARY
            .iter()
            .chain(BINARY)
            .chain(TERNARY)
            .map(|p| format!("einsum {p}")),
    );
    wanted.extend(FINALS.iter().map(|f| format!("final {f:?}")));
    wanted.extend(
        [
            Un::Tanh,
            Un::Sigmoid,
            Un::Exp,
            Un::Neg,
            Un::NegOp,
            Un::Powi(2),
            Un::Powi(3),
            Un::Sqrt,
            Un::Ln,
        ]
        .iter()
        .map(|u| format!("unary {u:?}")),
    );
    let missing: Vec<&String> = wanted.iter().filter(|w| !seen.contains(*w)).collect();
    assert!(
        missing.is_empty(),
        "never generated: {missing:#?}\n(seen: {seen:#?})"
    );
    assert!(steps >= 1500 * 4);
}
