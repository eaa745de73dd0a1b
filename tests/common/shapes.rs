//! Random shapes consistent with a pattern: extents per label, ellipsis ranks, size-1 broadcasting,
//! and a budget that keeps the reference einsum affordable.

use std::collections::BTreeMap;

use super::reference::{parse, Label};
use super::rng::Rng;

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
