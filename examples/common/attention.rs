//! A multi-head self-attention block written with `einsum!` on `Var`s: the model of
//! `examples/attention.rs`, and what `tests/attention.rs` checks against JAX
//! (`scripts/attention_reference.py`) and against finite differences. Both include this file with
//! `#[path]`.
//!
//! Labels: `b` batch, `q` and `k` the query and key positions (one sequence, seen from two sides),
//! `m` the model width, `h` the heads, `d` the width of one head. For `x` of shape (b, q, m):
//!
//! ```text
//! Q = einsum("bqm,mhd->bqhd", x, wq)        K, V likewise with wk, wv (positions called k)
//! S = einsum("bqhd,bkhd->bhqk", Q, K) / sqrt(d)
//! A = softmax(S, axis k)                    with S[.., q, k] = -inf where k > q if causal
//! C = einsum("bhqk,bkhd->bqhd", A, V)
//! y = einsum("bqhd,hdm->bqm", C, wo)
//! ```

use einsum_runtime::rand::Rng;
use einsum_runtime::{einsum, init, Var};
use ndarray::{Array2, IxDyn};

/// The projections of one self-attention block: `wq`, `wk`, `wv` of shape (m, h, d) map the input
/// to each head's queries, keys and values, `wo` of shape (h, d, m) maps the heads back.
pub struct SelfAttention {
    pub wq: Var<f64>,
    pub wk: Var<f64>,
    pub wv: Var<f64>,
    pub wo: Var<f64>,
}

impl SelfAttention {
    /// A block for inputs of width `width` with `heads` heads of width `head_width`. Each projection
    /// is Xavier-uniform for the matrix it is, (m, h d) or (h d, m), drawn from `rng`.
    pub fn new<R: Rng + ?Sized>(
        width: usize,
        heads: usize,
        head_width: usize,
        rng: &mut R,
    ) -> Self {
        let mut projection = |fan_in: usize, fan_out: usize, shape: [usize; 3]| {
            let w = init::xavier_uniform::<f64, _>(&[fan_in, fan_out], rng);
            Var::new(w.into_shape_with_order(IxDyn(&shape)).expect("same size"))
        };
        let inner = heads * head_width;
        SelfAttention {
            wq: projection(width, inner, [width, heads, head_width]),
            wk: projection(width, inner, [width, heads, head_width]),
            wv: projection(width, inner, [width, heads, head_width]),
            wo: projection(inner, width, [heads, head_width, width]),
        }
    }

    /// The parameters, in the order `wq`, `wk`, `wv`, `wo`.
    pub fn params(&self) -> [&Var<f64>; 4] {
        [&self.wq, &self.wk, &self.wv, &self.wo]
    }

    /// The block applied to `x` of shape (batch, positions, width); see [`self_attention`].
    pub fn forward(&self, x: &Var<f64>, causal: bool) -> Var<f64> {
        self_attention(x, self.params(), causal)
    }
}

/// Multi-head self-attention of `x` (batch, positions, width) with the projections
/// `[wq, wk, wv, wo]` (see the module docs); with `causal`, position `q` attends only to positions
/// `k <= q`. The result has `x`'s shape.
pub fn self_attention(x: &Var<f64>, [wq, wk, wv, wo]: [&Var<f64>; 4], causal: bool) -> Var<f64> {
    let q = einsum!("bqm,mhd->bqhd", x, wq);
    let k = einsum!("bkm,mhd->bkhd", x, wk);
    let v = einsum!("bkm,mhd->bkhd", x, wv);
    let head_width = wq.shape()[2] as f64;
    let scores = einsum!("bqhd,bkhd->bhqk", q, k) * head_width.sqrt().recip();
    let scores = if causal {
        let positions = x.shape()[1];
        let future = Array2::from_shape_fn((positions, positions), |(q, k)| k > q);
        scores.masked_fill(&future, f64::NEG_INFINITY)
    } else {
        scores
    };
    let weights = scores.softmax(3);
    let context = einsum!("bhqk,bkhd->bqhd", weights, v);
    einsum!("bqhd,hdm->bqm", context, wo)
}
