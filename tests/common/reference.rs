//! The reference einsum: written from scratch for testing, sharing no code with `einsum-macro` or
//! `einsum-runtime` (no planner, no pairwise order, no GEMM, no strides arithmetic of its own: it
//! reads ndarray arrays by logical index), so a bug in the library's planning or kernels cannot hide
//! in the expected values. Keep it that way: this file imports nothing from the library, nor from
//! the rest of `common`.
//!
//! It parses the pattern itself at run time with numpy's rules: labels `a-zA-Z`, spaces ignored,
//! implicit output = labels that occur exactly once sorted by character code after the ellipsis
//! dimensions, `...` right-aligned, an explicit output without `...` sums the ellipsis dimensions,
//! repeated labels take diagonals, extent 1 broadcasts. It then evaluates the pattern by one plain
//! loop over *every* index tuple of *all* labels.

use std::collections::BTreeMap;

use ndarray::{ArrayD, ArrayViewD, IxDyn, LinalgScalar};

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
        loop {
            let mut prod = T::one();
            for (data, m) in flat.iter().zip(&maps) {
                let offset: usize = m.iter().map(|&(s, stride)| tuple[s] * stride).sum();
                prod = prod * data[offset];
            }
            let offset: usize = out_map.iter().map(|&(s, stride)| tuple[s] * stride).sum();
            out[offset] = out[offset] + prod;
            if !next_tuple(&mut tuple, &ext) {
                break;
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("output length")
}

/// Steps `tuple` to the next index tuple below `ext` in row-major order (the last entry fastest);
/// false, with `tuple` back at all zeros, after the last one.
pub fn next_tuple(tuple: &mut [usize], ext: &[usize]) -> bool {
    for d in (0..tuple.len()).rev() {
        tuple[d] += 1;
        if tuple[d] < ext[d] {
            return true;
        }
        tuple[d] = 0;
    }
    false
}

/// The reference on absolute values: per output element, the sum of |products| (a rounding scale).
pub fn reference_abs(pattern: &str, ops: &[ArrayViewD<'_, f64>]) -> ArrayD<f64> {
    let abs: Vec<ArrayD<f64>> = ops.iter().map(|a| a.mapv(f64::abs)).collect();
    reference(pattern, &views(&abs))
}

pub fn views<T>(arrays: &[ArrayD<T>]) -> Vec<ArrayViewD<'_, T>> {
    arrays.iter().map(|a| a.view()).collect()
}
