//! Shared helpers of the integration tests `numeric`, `gradients` and `zero_extents`.
//!
//! The heart of this module is [`reference`], an einsum written from scratch for testing: it parses
//! the pattern itself at run time (numpy's rules: labels `a-zA-Z`, spaces ignored, implicit output =
//! labels that occur exactly once sorted by character code after the ellipsis dimensions, `...`
//! right-aligned, an explicit output without `...` sums the ellipsis dimensions, repeated labels take
//! diagonals, extent 1 broadcasts) and evaluates it by one plain loop over *every* index tuple of
//! *all* labels. It shares no code with `einsum-macro` or `einsum-runtime` (no planner, no pairwise
//! order, no GEMM, no strides arithmetic of its own: it indexes ndarray views by logical index), so a
//! bug in the library's planning or kernels cannot hide in the expected values.
//!
//! Also here: a seeded xorshift RNG, random shapes consistent with a pattern, random arrays, several
//! memory layouts of the same logical array, central finite differences, and the per-pattern checks
//! that the test files run.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Debug;

use ndarray::{Array, ArrayD, ArrayViewD, Dimension, IxDyn, LinalgScalar, ShapeBuilder, Slice};

// ---------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------

/// xorshift64* — small, seeded, reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        let s = seed ^ 0x9E37_79B9_7F4A_7C15;
        Rng(if s == 0 { 0x2545_F491_4F6C_DD1D } else { s })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[-1, 1)`, rounded to the nearest `f32` so that f32 and f64 tests share values.
    pub fn uniform(&mut self) -> f64 {
        (2.0 * self.unit() - 1.0) as f32 as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1);
            p.swap(i, j);
        }
        p
    }
}

/// FNV-1a: a stable seed derived from a test's name or pattern.
pub fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------------
// Element types
// ---------------------------------------------------------------------------------------------

/// The element types the tests use, with what they need to be generated and compared.
pub trait Elem: LinalgScalar + Debug + PartialEq + Send + Sync {
    const NAME: &'static str;
    /// Exact types are compared for equality against an i64 reference; floats with a tolerance.
    const EXACT: bool;
    /// Relative tolerance (of the sum of absolute products) for floats.
    const TOL: f64;
    /// Written into the gaps of stepped layouts: a wrong read shows.
    fn filler() -> Self;
    fn random(rng: &mut Rng) -> Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn to_i64(self) -> i64;
    fn from_i64(x: i64) -> Self;
}

impl Elem for f64 {
    const NAME: &'static str = "f64";
    const EXACT: bool = false;
    const TOL: f64 = 1e-12;
    fn filler() -> Self {
        f64::NAN
    }
    fn random(rng: &mut Rng) -> Self {
        rng.uniform()
    }
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(x: i64) -> Self {
        x as f64
    }
}

impl Elem for f32 {
    const NAME: &'static str = "f32";
    const EXACT: bool = false;
    const TOL: f64 = 1e-4;
    fn filler() -> Self {
        f32::NAN
    }
    fn random(rng: &mut Rng) -> Self {
        rng.uniform() as f32
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_i64(x: i64) -> Self {
        x as f32
    }
}

macro_rules! int_elem {
    ($t:ty, $name:literal, $lo:literal, $hi:literal, $filler:literal) => {
        impl Elem for $t {
            const NAME: &'static str = $name;
            const EXACT: bool = true;
            const TOL: f64 = 0.0;
            fn filler() -> Self {
                $filler
            }
            fn random(rng: &mut Rng) -> Self {
                (rng.range(0, ($hi - $lo) as usize) as i64 + $lo) as $t
            }
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn from_i64(x: i64) -> Self {
                <$t>::try_from(x).expect("reference value fits the element type")
            }
        }
    };
}
int_elem!(i32, "i32", -3, 3, 7777);
int_elem!(i64, "i64", -3, 3, 7777);
int_elem!(u32, "u32", 0, 3, 7777);
int_elem!(u8, "u8", 0, 2, 77);

pub fn cast<A: Elem, B: Elem>(a: &ArrayViewD<'_, A>) -> ArrayD<B> {
    if A::EXACT && B::EXACT {
        a.mapv(|x| B::from_i64(x.to_i64()))
    } else {
        a.mapv(|x| B::from_f64(x.to_f64()))
    }
}

// ---------------------------------------------------------------------------------------------
// Patterns: parsing and binding (independent of the library)
// ---------------------------------------------------------------------------------------------

/// One term: labels before the `...`, whether there is one, labels after it.
#[derive(Debug, Clone, Default)]
pub struct RefTerm {
    pub before: Vec<u8>,
    pub ellipsis: bool,
    pub after: Vec<u8>,
}

impl RefTerm {
    pub fn named(&self) -> usize {
        self.before.len() + self.after.len()
    }

    pub fn chars(&self) -> impl Iterator<Item = u8> + '_ {
        self.before.iter().chain(&self.after).copied()
    }
}

#[derive(Debug, Clone)]
pub struct RefPattern {
    pub inputs: Vec<RefTerm>,
    /// `None` for implicit output.
    pub output: Option<RefTerm>,
}

fn parse_term(text: &str) -> RefTerm {
    let (before, ellipsis, after) = match text.find("...") {
        Some(p) => (&text[..p], true, &text[p + 3..]),
        None => (text, false, ""),
    };
    for c in before.bytes().chain(after.bytes()) {
        assert!(
            c.is_ascii_alphabetic(),
            "reference einsum: bad character {:?} in term {text:?}",
            c as char
        );
    }
    RefTerm {
        before: before.bytes().collect(),
        ellipsis,
        after: after.bytes().collect(),
    }
}

/// Parses a pattern (spaces are dropped first; the test patterns are valid).
pub fn parse(pattern: &str) -> RefPattern {
    let text: String = pattern.chars().filter(|c| *c != ' ').collect();
    let (lhs, rhs) = match text.find("->") {
        Some(p) => (&text[..p], Some(&text[p + 2..])),
        None => (&text[..], None),
    };
    RefPattern {
        inputs: lhs.split(',').map(parse_term).collect(),
        output: rhs.map(parse_term),
    }
}

/// A label: a letter, or ellipsis dimension `d` counted from the left of the longest ellipsis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    Ell(usize),
    Char(u8),
}

/// A pattern bound to shapes.
#[derive(Debug, Clone)]
pub struct Bound {
    /// Per operand, the label of each axis.
    pub axes: Vec<Vec<Label>>,
    /// Every label's extent (an extent of 1 broadcasts against the others).
    pub extents: BTreeMap<Label, usize>,
    pub output: Vec<Label>,
}

impl Bound {
    pub fn output_shape(&self) -> Vec<usize> {
        self.output.iter().map(|l| self.extents[l]).collect()
    }

    /// Number of index tuples the reference loops over.
    pub fn tuples(&self) -> usize {
        self.extents.values().product()
    }
}

pub fn bind(p: &RefPattern, shapes: &[&[usize]]) -> Bound {
    assert_eq!(
        shapes.len(),
        p.inputs.len(),
        "reference einsum: operand count"
    );
    let ranks: Vec<usize> = p
        .inputs
        .iter()
        .zip(shapes)
        .map(|(t, s)| {
            if t.ellipsis {
                assert!(s.len() >= t.named(), "reference einsum: rank of {s:?}");
                s.len() - t.named()
            } else {
                assert_eq!(s.len(), t.named(), "reference einsum: rank of {s:?}");
                0
            }
        })
        .collect();
    let longest = ranks.iter().copied().max().unwrap_or(0);
    let mut extents: BTreeMap<Label, usize> = BTreeMap::new();
    let mut axes = Vec::new();
    for ((t, s), &r) in p.inputs.iter().zip(shapes).zip(&ranks) {
        let labels: Vec<Label> = t
            .before
            .iter()
            .map(|&c| Label::Char(c))
            .chain((longest - r..longest).map(Label::Ell))
            .chain(t.after.iter().map(|&c| Label::Char(c)))
            .collect();
        for (&l, &n) in labels.iter().zip(s.iter()) {
            let e = extents.entry(l).or_insert(n);
            if *e == 1 {
                *e = n;
            } else {
                assert!(
                    n == *e || n == 1,
                    "reference einsum: extents {n} and {e} of {l:?} disagree"
                );
            }
        }
        axes.push(labels);
    }
    let output: Vec<Label> = match &p.output {
        Some(t) => t
            .before
            .iter()
            .map(|&c| Label::Char(c))
            .chain((0..if t.ellipsis { longest } else { 0 }).map(Label::Ell))
            .chain(t.after.iter().map(|&c| Label::Char(c)))
            .collect(),
        None => {
            let mut count: BTreeMap<u8, usize> = BTreeMap::new();
            for t in &p.inputs {
                for c in t.chars() {
                    *count.entry(c).or_default() += 1;
                }
            }
            // BTreeMap<u8, _> iterates by character code: upper case first.
            (0..longest)
                .map(Label::Ell)
                .chain(
                    count
                        .into_iter()
                        .filter(|&(_, n)| n == 1)
                        .map(|(c, _)| Label::Char(c)),
                )
                .collect()
        }
    };
    for l in &output {
        assert!(extents.contains_key(l), "reference einsum: output {l:?}");
    }
    Bound {
        axes,
        extents,
        output,
    }
}

/// Row-major strides of `shape`.
fn row_major(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// The reference einsum: one loop over every index tuple of all labels, summing the product of the
/// operands' elements into the output element. Slow on purpose (but not needlessly: each operand is
/// first copied into a flat row-major buffer, read back by logical index).
pub fn reference<T: LinalgScalar>(pattern: &str, ops: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
    let p = parse(pattern);
    let shapes: Vec<&[usize]> = ops.iter().map(|a| a.shape()).collect();
    let b = bind(&p, &shapes);
    let labels: Vec<Label> = b.extents.keys().copied().collect();
    let ext: Vec<usize> = b.extents.values().copied().collect();
    let slot = |l: &Label| labels.iter().position(|x| x == l).unwrap();
    // Logical (row-major) copies: `iter` walks an ndarray array in logical order whatever its strides.
    let flat: Vec<Vec<T>> = ops.iter().map(|a| a.iter().copied().collect()).collect();
    // Per operand: (tuple slot, row-major stride) of each axis; an axis of extent 1 that broadcasts
    // against a longer extent always reads index 0, so it is left out.
    let maps: Vec<Vec<(usize, usize)>> = b
        .axes
        .iter()
        .zip(&shapes)
        .map(|(ls, s)| {
            ls.iter()
                .zip(s.iter())
                .zip(row_major(s))
                .filter(|((l, &n), _)| n == b.extents[l])
                .map(|((l, _), stride)| (slot(l), stride))
                .collect()
        })
        .collect();
    let out_shape = b.output_shape();
    let out_map: Vec<(usize, usize)> = b
        .output
        .iter()
        .map(slot)
        .zip(row_major(&out_shape))
        .collect();
    let mut out = vec![T::zero(); out_shape.iter().product()];
    if !ext.contains(&0) {
        let mut tuple = vec![0usize; labels.len()];
        'tuples: loop {
            let mut prod = T::one();
            for (data, m) in flat.iter().zip(&maps) {
                let offset: usize = m.iter().map(|&(s, stride)| tuple[s] * stride).sum();
                prod = prod * data[offset];
            }
            let offset: usize = out_map.iter().map(|&(s, stride)| tuple[s] * stride).sum();
            out[offset] = out[offset] + prod;
            // Odometer.
            let mut d = labels.len();
            loop {
                if d == 0 {
                    break 'tuples;
                }
                d -= 1;
                tuple[d] += 1;
                if tuple[d] < ext[d] {
                    break;
                }
                tuple[d] = 0;
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("output length")
}

/// The reference on absolute values: per output element, the sum of |products| (a rounding scale).
pub fn reference_abs(pattern: &str, ops: &[ArrayViewD<'_, f64>]) -> ArrayD<f64> {
    let abs: Vec<ArrayD<f64>> = ops.iter().map(|a| a.mapv(f64::abs)).collect();
    reference(pattern, &views(&abs))
}

pub fn views<T>(arrays: &[ArrayD<T>]) -> Vec<ArrayViewD<'_, T>> {
    arrays.iter().map(|a| a.view()).collect()
}

pub fn shapes_of<T>(arrays: &[ArrayD<T>]) -> Vec<Vec<usize>> {
    arrays.iter().map(|a| a.shape().to_vec()).collect()
}

// ---------------------------------------------------------------------------------------------
// Random shapes and arrays
// ---------------------------------------------------------------------------------------------

/// How to draw the shapes of a pattern's operands.
#[derive(Debug, Clone)]
pub struct ShapeOpts {
    /// Extent range of each label and ellipsis dimension.
    pub min: usize,
    pub max: usize,
    /// Probability that an occurrence of a label shared with another operand gets extent 1.
    pub broadcast: f64,
    /// Largest ellipsis rank of one operand.
    pub max_ellipsis: usize,
    /// Labels with a fixed extent (`"i=40 j=0"`).
    pub fixed: Vec<(u8, usize)>,
    /// Extents of the ellipsis dimensions (left to right, the longest ellipsis), if fixed.
    pub fixed_ellipsis: Option<Vec<usize>>,
    /// Each operand's ellipsis rank, if fixed (static-rank operands need it).
    pub ellipsis_ranks: Option<Vec<usize>>,
    /// Shrink random extents until `tuples * (1 + elements * per_element)` is at most this.
    pub budget: usize,
    pub per_element: usize,
}

impl ShapeOpts {
    pub fn new(min: usize, max: usize) -> Self {
        ShapeOpts {
            min,
            max,
            broadcast: 0.0,
            max_ellipsis: 2,
            fixed: Vec::new(),
            fixed_ellipsis: None,
            ellipsis_ranks: None,
            budget: 20_000,
            per_element: 0,
        }
    }

    pub fn broadcast(mut self, p: f64) -> Self {
        self.broadcast = p;
        self
    }

    pub fn budget(mut self, budget: usize, per_element: usize) -> Self {
        self.budget = budget;
        self.per_element = per_element;
        self
    }

    /// Fixes extents written as `"i=40 j=40 k=0"`.
    pub fn fixed(mut self, spec: &str) -> Self {
        for item in spec.split_whitespace() {
            let (l, n) = item.split_once('=').expect("label=extent");
            assert_eq!(l.len(), 1, "one label per item: {item}");
            self.fixed
                .push((l.as_bytes()[0], n.parse().expect("extent")));
        }
        self
    }

    pub fn ellipsis_extents(mut self, dims: &[usize]) -> Self {
        self.fixed_ellipsis = Some(dims.to_vec());
        self
    }

    pub fn ellipsis_ranks(mut self, ranks: &[usize]) -> Self {
        self.ellipsis_ranks = Some(ranks.to_vec());
        self
    }
}

/// Random shapes consistent with `pattern`.
pub fn random_shapes(pattern: &str, opts: &ShapeOpts, rng: &mut Rng) -> Vec<Vec<usize>> {
    let p = parse(pattern);
    let mut extents: BTreeMap<u8, usize> = BTreeMap::new();
    for t in &p.inputs {
        for c in t.chars() {
            extents.entry(c).or_insert(0);
        }
    }
    let fixed = |c: u8| opts.fixed.iter().find(|f| f.0 == c).map(|f| f.1);
    for (&c, e) in extents.iter_mut() {
        *e = fixed(c).unwrap_or_else(|| rng.range(opts.min, opts.max));
    }
    let ell_ranks: Vec<usize> = p
        .inputs
        .iter()
        .enumerate()
        .map(
            |(k, t)| match (&opts.ellipsis_ranks, &opts.fixed_ellipsis) {
                _ if !t.ellipsis => 0,
                (Some(ranks), _) => ranks[k],
                (None, Some(dims)) => dims.len(),
                (None, None) => rng.range(0, opts.max_ellipsis),
            },
        )
        .collect();
    let longest = ell_ranks.iter().copied().max().unwrap_or(0);
    let mut ell: Vec<usize> = match &opts.fixed_ellipsis {
        Some(dims) => dims[dims.len() - longest..].to_vec(),
        None => (0..longest)
            .map(|_| rng.range(opts.min, opts.max))
            .collect(),
    };
    // Keep the reference affordable: shrink the largest random extent until under budget.
    loop {
        let tuples: usize = extents.values().chain(&ell).product();
        let elements: usize = p
            .inputs
            .iter()
            .zip(&ell_ranks)
            .map(|(t, &r)| {
                t.chars().map(|c| extents[&c]).product::<usize>()
                    * ell[longest - r..].iter().product::<usize>()
            })
            .sum();
        if tuples * (1 + elements * opts.per_element) <= opts.budget {
            break;
        }
        let fixed_ell = opts.fixed_ellipsis.is_some();
        let candidate = extents
            .iter_mut()
            .filter(|(c, e)| fixed(**c).is_none() && **e > opts.min.max(1))
            .map(|(_, e)| e)
            .chain(
                ell.iter_mut()
                    .filter(|e| !fixed_ell && **e > opts.min.max(1)),
            )
            .max_by_key(|e| **e);
        match candidate {
            Some(e) => *e -= 1,
            None => break,
        }
    }
    // Every axis of every operand, with its label and extent.
    let axes: Vec<Vec<(Label, usize)>> = p
        .inputs
        .iter()
        .zip(&ell_ranks)
        .map(|(t, &r)| {
            t.before
                .iter()
                .map(|&c| (Label::Char(c), extents[&c]))
                .chain((longest - r..longest).map(|d| (Label::Ell(d), ell[d])))
                .chain(t.after.iter().map(|&c| (Label::Char(c), extents[&c])))
                .collect()
        })
        .collect();
    // Size-1 broadcasting: only labels that several operands carry, only where an operand has the
    // label once, and one occurrence of each label always keeps the real extent.
    let holders = |l: Label| axes.iter().filter(|a| a.iter().any(|x| x.0 == l)).count();
    let mut flags: Vec<Vec<bool>> = axes
        .iter()
        .map(|a| {
            a.iter()
                .map(|&(l, _)| {
                    let once = a.iter().filter(|x| x.0 == l).count() == 1;
                    once && holders(l) > 1 && rng.chance(opts.broadcast)
                })
                .collect()
        })
        .collect();
    let labels: Vec<Label> = axes.iter().flatten().map(|x| x.0).collect();
    for l in labels {
        let places: Vec<(usize, usize)> = axes
            .iter()
            .enumerate()
            .flat_map(|(k, a)| {
                a.iter()
                    .enumerate()
                    .filter(move |x| x.1 .0 == l)
                    .map(move |(i, _)| (k, i))
            })
            .collect();
        if places.iter().all(|&(k, i)| flags[k][i]) {
            let (k, i) = places[rng.below(places.len())];
            flags[k][i] = false;
        }
    }
    axes.iter()
        .zip(&flags)
        .map(|(a, f)| {
            a.iter()
                .zip(f)
                .map(|(&(_, n), &b)| if b { 1 } else { n })
                .collect()
        })
        .collect()
}

pub fn random_array<T: Elem>(shape: &[usize], rng: &mut Rng) -> ArrayD<T> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || T::random(rng))
}

pub fn random_arrays<T: Elem>(shapes: &[Vec<usize>], rng: &mut Rng) -> Vec<ArrayD<T>> {
    shapes.iter().map(|s| random_array(s, rng)).collect()
}

// ---------------------------------------------------------------------------------------------
// Layouts
// ---------------------------------------------------------------------------------------------

/// A memory layout of a logical array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Standard (C, row-major) order.
    C,
    /// Fortran (column-major) order.
    F,
    /// Memory holds a (random) permutation of the axes in C order; the view permutes them back.
    Transposed,
    /// Every other element of a twice-as-large array (step 2 on every axis; on the last
    /// [`MAX_STEPPED_AXES`] axes of higher-rank arrays, to bound the memory).
    Stepped,
    /// A reversed array read with step -1 on every axis.
    Negative,
    /// Step -2 on every axis of a twice-as-large array (as for `Stepped`, at most the last
    /// [`MAX_STEPPED_AXES`] axes; the others have step -1).
    NegativeStepped,
}

/// Stepped layouts double at most this many (trailing) axes: a rank-10 array would otherwise need a
/// backing array 1024 times its size.
pub const MAX_STEPPED_AXES: usize = 4;

/// The step of `axis` (of `ndim`) in a layout with step `step`.
fn axis_step(step: isize, axis: usize, ndim: usize) -> isize {
    if axis + MAX_STEPPED_AXES >= ndim {
        step
    } else {
        step.signum()
    }
}

pub const LAYOUTS: [Layout; 6] = [
    Layout::C,
    Layout::F,
    Layout::Transposed,
    Layout::Stepped,
    Layout::Negative,
    Layout::NegativeStepped,
];

/// A logical array stored in some layout; [`Laid::view`] shows the logical array.
#[derive(Debug, Clone)]
pub struct Laid<T> {
    pub layout: Layout,
    backing: ArrayD<T>,
    perm: Option<Vec<usize>>,
    step: Option<isize>,
}

impl<T> Laid<T> {
    pub fn view(&self) -> ArrayViewD<'_, T> {
        let mut v = self.backing.view();
        if let Some(p) = &self.perm {
            v = v.permuted_axes(p.clone());
        }
        if let Some(step) = self.step {
            let ndim = v.ndim();
            v.slice_each_axis_inplace(|d| {
                Slice::new(0, None, axis_step(step, d.axis.index(), ndim))
            });
        }
        v
    }
}

pub fn lay_out<T: Elem>(a: &ArrayD<T>, layout: Layout, rng: &mut Rng) -> Laid<T> {
    let plain = |backing| Laid {
        layout,
        backing,
        perm: None,
        step: None,
    };
    let stepped = |step: isize| {
        let ndim = a.ndim();
        let big: Vec<usize> = a
            .shape()
            .iter()
            .enumerate()
            .map(|(d, &n)| n * axis_step(step, d, ndim).unsigned_abs())
            .collect();
        let mut backing = ArrayD::from_elem(IxDyn(&big), T::filler());
        backing
            .slice_each_axis_mut(|d| Slice::new(0, None, axis_step(step, d.axis.index(), ndim)))
            .assign(a);
        Laid {
            layout,
            backing,
            perm: None,
            step: Some(step),
        }
    };
    let laid = match layout {
        Layout::C => plain(a.as_standard_layout().into_owned()),
        Layout::F => {
            let mut f = ArrayD::from_elem(a.raw_dim().f(), T::filler());
            f.assign(a);
            plain(f)
        }
        Layout::Transposed => {
            let p = rng.permutation(a.ndim());
            let mut inverse = vec![0; p.len()];
            for (j, &i) in p.iter().enumerate() {
                inverse[i] = j;
            }
            let backing = a.view().permuted_axes(p).as_standard_layout().into_owned();
            Laid {
                layout,
                backing,
                perm: Some(inverse),
                step: None,
            }
        }
        Layout::Stepped => stepped(2),
        Layout::Negative => stepped(-1),
        Layout::NegativeStepped => stepped(-2),
    };
    assert_eq!(
        laid.view(),
        a.view(),
        "layout {layout:?} changed the values"
    );
    laid
}

/// Operand `k` gets layout `LAYOUTS[(rotation + k) % 6]`.
pub fn lay_out_all<T: Elem>(ops: &[ArrayD<T>], rotation: usize, rng: &mut Rng) -> Vec<Laid<T>> {
    ops.iter()
        .enumerate()
        .map(|(k, a)| lay_out(a, LAYOUTS[(rotation + k) % LAYOUTS.len()], rng))
        .collect()
}

pub fn laid_views<T>(laid: &[Laid<T>]) -> Vec<ArrayViewD<'_, T>> {
    laid.iter().map(Laid::view).collect()
}

pub fn layout_names<T>(laid: &[Laid<T>]) -> Vec<Layout> {
    laid.iter().map(|l| l.layout).collect()
}

// ---------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------

/// Panics with a precise message unless `got` is within `tol[i]` of `want` everywhere (same shape).
pub fn assert_close(
    what: &str,
    got: &ArrayViewD<'_, f64>,
    want: &ArrayViewD<'_, f64>,
    tol: impl Fn(f64, usize) -> f64,
) {
    assert_eq!(
        got.shape(),
        want.shape(),
        "{what}: shape {:?}, expected {:?}",
        got.shape(),
        want.shape()
    );
    for (i, ((idx, &g), &w)) in got.indexed_iter().zip(want.iter()).enumerate() {
        let t = tol(w, i);
        assert!(
            (g - w).abs() <= t,
            "{what}: at {:?} got {g:e}, expected {w:e} (difference {:e}, tolerance {t:e})",
            idx.slice(),
            (g - w).abs()
        );
    }
}

/// The expected result of `pattern` on `ops`: exact (i64) for integer types, f64 with a per-element
/// rounding scale (sum of |products|) for floats.
pub enum Expected {
    Exact(ArrayD<i64>),
    Float(ArrayD<f64>, Vec<f64>),
}

pub fn expected<T: Elem>(pattern: &str, ops: &[ArrayD<T>]) -> Expected {
    if T::EXACT {
        let wide: Vec<ArrayD<i64>> = ops.iter().map(|a| cast(&a.view())).collect();
        Expected::Exact(reference(pattern, &views(&wide)))
    } else {
        let wide: Vec<ArrayD<f64>> = ops.iter().map(|a| cast(&a.view())).collect();
        let want = reference(pattern, &views(&wide));
        let scale = reference_abs(pattern, &views(&wide));
        Expected::Float(want, scale.iter().copied().collect())
    }
}

/// Checks a library result against [`expected`]: equal for integers, within `T::TOL` of the sum of
/// |products| for floats; the shape must match in both cases.
pub fn assert_expected<T: Elem>(what: &str, got: &ArrayD<T>, want: &Expected) {
    match want {
        Expected::Exact(want) => {
            assert_eq!(got.shape(), want.shape(), "{what}: shape");
            let got: ArrayD<i64> = cast(&got.view());
            assert_eq!(&got, want, "{what}: values (exact)");
        }
        Expected::Float(want, scale) => {
            let got: ArrayD<f64> = cast(&got.view());
            assert_close(what, &got.view(), &want.view(), |_, i| {
                T::TOL * (scale[i] + 1e-3)
            });
        }
    }
}

/// Compares a library result with the reference for element type `T` (inputs `ops`, logical).
pub fn compare_with_reference<T: Elem>(
    what: &str,
    pattern: &str,
    got: &ArrayD<T>,
    ops: &[ArrayD<T>],
) {
    assert_expected(what, got, &expected(pattern, ops));
}

// ---------------------------------------------------------------------------------------------
// Per-pattern checks
// ---------------------------------------------------------------------------------------------

/// A forward einsum under test: operands in, result as a dynamic-rank array.
pub type Fwd<T> = fn(&[ArrayViewD<'_, T>]) -> ArrayD<T>;

/// Runs `f` on random operands drawn with each of `opts`, every operand cycling through all layouts
/// (`rotations` of them per draw), and compares with the reference.
pub fn check_forward_with<T: Elem>(pattern: &str, f: Fwd<T>, opts: &[ShapeOpts], rotations: usize) {
    let mut rng = Rng::new(seed_of(pattern) ^ seed_of(T::NAME));
    for (trial, o) in opts.iter().enumerate() {
        let shapes = random_shapes(pattern, o, &mut rng);
        let ops: Vec<ArrayD<T>> = random_arrays(&shapes, &mut rng);
        let want = expected(pattern, &ops);
        for rotation in 0..rotations {
            let laid = lay_out_all(&ops, rotation + trial, &mut rng);
            let got = f(&laid_views(&laid));
            let what = format!(
                "einsum {pattern:?} [{}], trial {trial}, shapes {shapes:?}, layouts {:?}",
                T::NAME,
                layout_names(&laid)
            );
            assert_expected(&what, &got, &want);
        }
    }
}

/// Extra draws with fixed (large) extents, e.g. `"i=40 j=40 k=40"` for the GEMM path.
pub fn big_opts(big: &[&str]) -> Vec<ShapeOpts> {
    big.iter()
        .map(|spec| {
            ShapeOpts::new(1, 3)
                .fixed(spec)
                .budget(usize::MAX, 0)
                .broadcast(0.0)
        })
        .collect()
}

/// Checks which path `run` takes for `pattern`: a fixed-rank pattern (no `...`) of at most four
/// operands runs the code the macro generated and never enters the run-time executor; any other
/// pattern does. So a fixed-rank pattern cannot silently fall back to the executor.
pub fn assert_path<R>(pattern: &str, run: impl FnOnce() -> R) -> R {
    let before = einsum_runtime::__private::executor_calls();
    let result = run();
    let entered = einsum_runtime::__private::executor_calls() > before;
    let generated = !pattern.contains("...") && parse(pattern).inputs.len() <= 4;
    assert_eq!(
        entered,
        !generated,
        "einsum {pattern:?}: expected the {} path",
        if generated { "generated" } else { "executor" }
    );
    result
}

/// Small random operands of `pattern`.
pub fn small_operands(pattern: &str) -> Vec<ArrayD<f64>> {
    let mut rng = Rng::new(seed_of(pattern));
    let shapes = random_shapes(pattern, &ShapeOpts::new(1, 3), &mut rng);
    random_arrays(&shapes, &mut rng)
}

/// The numeric check of one pattern of the table: the path it takes, then f64 (all layouts, with and
/// without size-1 broadcasting), f32, i64, and the large draws in `big`.
pub fn check_forward(pattern: &str, f64s: Fwd<f64>, f32s: Fwd<f32>, i64s: Fwd<i64>, big: &[&str]) {
    let ops = small_operands(pattern);
    assert_path(pattern, || f64s(&views(&ops)));
    let draws = [
        ShapeOpts::new(1, 5),
        ShapeOpts::new(1, 5).broadcast(0.35),
        ShapeOpts::new(2, 5),
        ShapeOpts {
            max_ellipsis: 4,
            ..ShapeOpts::new(1, 4).broadcast(0.6)
        },
    ];
    check_forward_with(pattern, f64s, &draws, LAYOUTS.len());
    check_forward_with(pattern, f32s, &draws[..2], 3);
    check_forward_with(pattern, i64s, &draws[1..3], 2);
    let big = big_opts(big);
    check_forward_with(pattern, f64s, &big, LAYOUTS.len());
    check_forward_with(pattern, f32s, &big, 1);
}

// ---------------------------------------------------------------------------------------------
// Gradients
// ---------------------------------------------------------------------------------------------

pub const STEP: f64 = 1e-3;

/// `sum(G * reference(ops))`.
pub fn objective(pattern: &str, ops: &[ArrayD<f64>], g: &ArrayD<f64>) -> f64 {
    let z = reference(pattern, &views(ops));
    assert_eq!(z.shape(), g.shape(), "objective: G's shape");
    z.iter().zip(g.iter()).map(|(a, b)| a * b).sum()
}

/// Central finite differences of [`objective`] with respect to every element of operand `k`.
pub fn finite_difference(
    pattern: &str,
    ops: &[ArrayD<f64>],
    g: &ArrayD<f64>,
    k: usize,
) -> ArrayD<f64> {
    let mut work = ops.to_vec();
    let mut grad = ArrayD::zeros(ops[k].raw_dim());
    for idx in ndarray::indices(ops[k].raw_dim()) {
        let x = ops[k][idx.clone()];
        work[k][idx.clone()] = x + STEP;
        let plus = objective(pattern, &work, g);
        work[k][idx.clone()] = x - STEP;
        let minus = objective(pattern, &work, g);
        work[k][idx.clone()] = x;
        grad[idx] = (plus - minus) / (2.0 * STEP);
    }
    grad
}

/// Per element of operand `k`, the sum of |G| * |products| that its gradient adds up: the rounding
/// scale of that gradient element (the objective is linear in each operand, so a unit step is exact).
pub fn gradient_scale(
    pattern: &str,
    ops: &[ArrayD<f64>],
    g: &ArrayD<f64>,
    k: usize,
) -> ArrayD<f64> {
    let mut work: Vec<ArrayD<f64>> = ops.iter().map(|a| a.mapv(f64::abs)).collect();
    let g = g.mapv(f64::abs);
    let base = objective(pattern, &work, &g);
    let mut scale = ArrayD::zeros(ops[k].raw_dim());
    for idx in ndarray::indices(ops[k].raw_dim()) {
        let x = work[k][idx.clone()];
        work[k][idx.clone()] = x + 1.0;
        scale[idx.clone()] = objective(pattern, &work, &g) - base;
        work[k][idx] = x;
    }
    scale
}

/// A vjp under test: operands and upstream gradient in, value and one gradient per operand out.
pub type Vjp<T> = fn(&[ArrayViewD<'_, T>], &ArrayD<T>) -> (ArrayD<T>, Vec<ArrayD<T>>);
/// The same through `Var`: operands and upstream gradient in, value and each leaf's `grad()` out.
pub type VarFn = fn(&[ArrayD<f64>], &ArrayD<f64>) -> (ArrayD<f64>, Vec<Option<ArrayD<f64>>>);

/// Turns the tuple that `back(&g)` returns into a vector.
pub trait IntoGradVec<T> {
    fn into_grad_vec(self) -> Vec<ArrayD<T>>;
}

macro_rules! grad_tuples {
    ($(($($x:ident)*))*) => {$(
        impl<T> IntoGradVec<T> for ($(grad_tuples!(@ty $x),)*) {
            #[allow(non_snake_case)]
            fn into_grad_vec(self) -> Vec<ArrayD<T>> {
                let ($($x,)*) = self;
                vec![$($x),*]
            }
        }
    )*};
    (@ty $x:ident) => { ArrayD<T> };
}
grad_tuples! {
    (A)
    (A B)
    (A B C)
    (A B C D)
    (A B C D E)
    (A B C D E F)
    (A B C D E F G)
}

/// `g` with the static dimension type of `like` (for `back`, which takes the value's type).
pub fn same_dim<T: Clone, D: Dimension>(_like: &Array<T, D>, g: &ArrayD<T>) -> Array<T, D> {
    g.clone()
        .into_dimensionality::<D>()
        .expect("upstream gradient has the value's rank")
}

/// Draws for the gradient checks: small extents (finite differences cost a reference per element).
pub fn gradient_draws() -> Vec<ShapeOpts> {
    vec![
        ShapeOpts::new(1, 3).budget(120_000, 3),
        ShapeOpts::new(1, 3).broadcast(0.4).budget(120_000, 3),
        ShapeOpts::new(1, 4).broadcast(0.25).budget(120_000, 3),
    ]
}

/// Checks `einsum_vjp!` in f64 and f32 against central finite differences of the reference, and the
/// `Var` path against the vjp, on the draws `opts` (layouts rotate with the draw).
pub fn check_gradients_with(
    pattern: &str,
    vjp64: Vjp<f64>,
    vjp32: Vjp<f32>,
    var: Option<VarFn>,
    opts: &[ShapeOpts],
) {
    let mut rng = Rng::new(seed_of(pattern) ^ seed_of("gradients"));
    for (trial, o) in opts.iter().enumerate() {
        let shapes = random_shapes(pattern, o, &mut rng);
        // Values are f32-representable, so the f32 inputs cast to f64 are exactly these.
        let ops: Vec<ArrayD<f64>> = random_arrays(&shapes, &mut rng);
        let out_shape = {
            let s: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
            bind(&parse(pattern), &s).output_shape()
        };
        let g: ArrayD<f64> = random_array(&out_shape, &mut rng);
        let want_z = reference(pattern, &views(&ops));
        let z_scale = reference_abs(pattern, &views(&ops));
        let z_scale: Vec<f64> = z_scale.iter().copied().collect();
        let fd: Vec<ArrayD<f64>> = (0..ops.len())
            .map(|k| finite_difference(pattern, &ops, &g, k))
            .collect();
        let scales: Vec<Vec<f64>> = (0..ops.len())
            .map(|k| {
                gradient_scale(pattern, &ops, &g, k)
                    .iter()
                    .copied()
                    .collect()
            })
            .collect();
        let ctx = |dtype: &str, layouts: &[Layout]| {
            format!("einsum {pattern:?} [{dtype}], trial {trial}, shapes {shapes:?}, G shape {out_shape:?}, layouts {layouts:?}")
        };

        // f64 through einsum_vjp!.
        let laid = lay_out_all(&ops, trial, &mut rng);
        let what = ctx("f64", &layout_names(&laid));
        let (z, grads) = vjp64(&laid_views(&laid), &g);
        assert_close(
            &format!("{what}: value"),
            &z.view(),
            &want_z.view(),
            |_, i| 1e-12 * (z_scale[i] + 1.0),
        );
        assert_eq!(grads.len(), ops.len(), "{what}: one gradient per operand");
        for k in 0..ops.len() {
            assert_close(
                &format!("{what}: gradient of operand {k}"),
                &grads[k].view(),
                &fd[k].view(),
                |_, i| 1e-6 * (1.0 + scales[k][i]),
            );
        }

        // f32 through einsum_vjp!, against the same finite differences.
        let ops32: Vec<ArrayD<f32>> = ops.iter().map(|a| cast(&a.view())).collect();
        let g32: ArrayD<f32> = cast(&g.view());
        let laid32 = lay_out_all(&ops32, trial + 3, &mut rng);
        let what32 = ctx("f32", &layout_names(&laid32));
        let (z32, grads32) = vjp32(&laid_views(&laid32), &g32);
        let z32: ArrayD<f64> = cast(&z32.view());
        assert_close(
            &format!("{what32}: value"),
            &z32.view(),
            &want_z.view(),
            |_, i| 1e-4 * (z_scale[i] + 1e-3),
        );
        assert_eq!(
            grads32.len(),
            ops.len(),
            "{what32}: one gradient per operand"
        );
        for k in 0..ops.len() {
            let gk: ArrayD<f64> = cast(&grads32[k].view());
            assert_close(
                &format!("{what32}: gradient of operand {k}"),
                &gk.view(),
                &fd[k].view(),
                |_, i| 1e-3 * (scales[k][i] + 1e-3),
            );
        }

        // f64 through Var: the same value and gradients as the vjp.
        if let Some(var) = var {
            let owned: Vec<ArrayD<f64>> = laid.iter().map(|l| l.view().to_owned()).collect();
            let (vz, vgrads) = var(&owned, &g);
            let what = format!("{what}: Var");
            assert_close(&format!("{what}: value"), &vz.view(), &z.view(), |_, i| {
                1e-12 * (z_scale[i] + 1.0)
            });
            for (k, vg) in vgrads.iter().enumerate() {
                let vg = vg
                    .as_ref()
                    .unwrap_or_else(|| panic!("{what}: operand {k} has no gradient"));
                assert_close(
                    &format!("{what}: gradient of operand {k} vs einsum_vjp!"),
                    &vg.view(),
                    &grads[k].view(),
                    |_, i| 1e-12 * (1.0 + scales[k][i]),
                );
            }
        }
    }
}

/// Directional finite differences for large operands: `<grad_k, D>` against
/// `(f(x_k + hD) - f(x_k - hD)) / 2h` for a few random directions `D`.
pub fn check_gradients_directional(pattern: &str, vjp64: Vjp<f64>, opts: &[ShapeOpts]) {
    let mut rng = Rng::new(seed_of(pattern) ^ seed_of("directional"));
    for (trial, o) in opts.iter().enumerate() {
        let shapes = random_shapes(pattern, o, &mut rng);
        let ops: Vec<ArrayD<f64>> = random_arrays(&shapes, &mut rng);
        let out_shape = reference(pattern, &views(&ops)).shape().to_vec();
        let g: ArrayD<f64> = random_array(&out_shape, &mut rng);
        let laid = lay_out_all(&ops, trial, &mut rng);
        let (_, grads) = vjp64(&laid_views(&laid), &g);
        let abs_ops: Vec<ArrayD<f64>> = ops.iter().map(|a| a.mapv(f64::abs)).collect();
        let scale = objective(pattern, &abs_ops, &g.mapv(f64::abs));
        for k in 0..ops.len() {
            assert_eq!(
                grads[k].shape(),
                ops[k].shape(),
                "{pattern}: gradient shape"
            );
            for _ in 0..2 {
                let d: ArrayD<f64> = random_array(ops[k].shape(), &mut rng);
                let mut work = ops.clone();
                work[k] = &ops[k] + &(&d * STEP);
                let plus = objective(pattern, &work, &g);
                work[k] = &ops[k] - &(&d * STEP);
                let minus = objective(pattern, &work, &g);
                let fd = (plus - minus) / (2.0 * STEP);
                let got: f64 = grads[k].iter().zip(d.iter()).map(|(a, b)| a * b).sum();
                assert!(
                    (got - fd).abs() <= 1e-6 * (1.0 + fd.abs()) + 1e-9 * scale,
                    "einsum {pattern:?} trial {trial} shapes {shapes:?} layouts {:?}: directional derivative of operand {k}: vjp gives {got}, finite differences {fd}",
                    layout_names(&laid)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Zero strides
// ---------------------------------------------------------------------------------------------

/// Random operands of `pattern` where each operand (of rank > 0) is a zero-stride broadcast view along
/// one of its axes of extent > 1: `backing` has extent 1 there, and [`ZeroStride::view`] repeats it.
pub struct ZeroStride {
    pub backing: Vec<ArrayD<f64>>,
    pub shapes: Vec<Vec<usize>>,
}

impl ZeroStride {
    pub fn new(pattern: &str, rng: &mut Rng) -> Self {
        let shapes = random_shapes(pattern, &ShapeOpts::new(2, 4).budget(4_000, 0), rng);
        let backing = shapes
            .iter()
            .map(|s| {
                let mut small = s.clone();
                if let Some(axis) = (0..s.len()).find(|&d| s[d] > 1) {
                    small[axis] = 1;
                }
                random_array(&small, rng)
            })
            .collect();
        ZeroStride { backing, shapes }
    }

    pub fn views(&self) -> Vec<ArrayViewD<'_, f64>> {
        self.backing
            .iter()
            .zip(&self.shapes)
            .map(|(b, s)| {
                let v = b.broadcast(IxDyn(s)).expect("broadcastable");
                assert!(s.is_empty() || v.strides().contains(&0));
                v
            })
            .collect()
    }

    /// The same logical arrays, owned and contiguous.
    pub fn logical(&self) -> Vec<ArrayD<f64>> {
        self.views().iter().map(|v| v.to_owned()).collect()
    }
}

/// `f` on zero-stride views against the reference on the same logical arrays; with `vjp`, also the
/// gradients (shaped like the broadcast views) against finite differences.
pub fn check_zero_strides(pattern: &str, f: Fwd<f64>, vjp: Option<Vjp<f64>>) {
    let mut rng = Rng::new(seed_of(pattern) ^ seed_of("zero strides"));
    for _ in 0..3 {
        let ops = ZeroStride::new(pattern, &mut rng);
        let logical = ops.logical();
        let what = format!(
            "einsum {pattern:?} on zero-stride views of shapes {:?}",
            ops.shapes
        );
        compare_with_reference(&what, pattern, &f(&ops.views()), &logical);
        if let Some(vjp) = vjp {
            let out = reference(pattern, &views(&logical));
            let g: ArrayD<f64> = random_array(out.shape(), &mut rng);
            let (_, grads) = vjp(&ops.views(), &g);
            for (k, gk) in grads.iter().enumerate() {
                let fd = finite_difference(pattern, &logical, &g, k);
                let scale = gradient_scale(pattern, &logical, &g, k);
                let scale: Vec<f64> = scale.iter().copied().collect();
                assert_close(
                    &format!("{what}: gradient of operand {k}"),
                    &gk.view(),
                    &fd.view(),
                    |_, i| 1e-6 * (1.0 + scale[i]),
                );
            }
        }
    }
}
