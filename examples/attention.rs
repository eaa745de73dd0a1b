//! Multi-head self-attention, written with `einsum!`, learns to reverse sequences of digits.
//!
//! Each training step draws 64 random sequences of 6 tokens (the digits 0..9) and asks for each one
//! reversed. The model embeds the tokens (`einsum!("btv,vm->btm", one_hot, embedding)` plus a
//! learned embedding of each position), applies one multi-head self-attention block
//! (`examples/common/attention.rs`: input projections `bqm,mhd->bqhd`, scores `bqhd,bkhd->bhqk`
//! scaled by `1/sqrt(d)`, softmax, `bhqk,bkhd->bqhd`, output projection `bqhd,hdm->bqm`), and reads
//! the next token out with `einsum!("btm,mv->btv", y, readout)`. It is trained with `Adam` on the
//! softmax cross-entropy of every position. The program prints the loss as it goes down, then the
//! accuracy on 1,000 freshly drawn sequences: the fraction of sequences reversed without a single
//! wrong token, and of tokens right. It exits non-zero if fewer than 95% of the sequences are right.
//!
//! `tests/attention.rs` checks the same block's values and gradients against JAX and against
//! finite differences.
//!
//! Run with `cargo run --release --example attention`.

use std::time::Instant;

use einsum_runtime::rand::{rngs::StdRng, Rng, RngExt, SeedableRng};
use einsum_runtime::{einsum, init, loss, no_grad, optim::Adam, Var};
use ndarray::{Array1, Array2, Array3, Axis};

#[path = "common/attention.rs"]
mod attention;
use attention::SelfAttention;

const VOCAB: usize = 10;
const LENGTH: usize = 8;
const WIDTH: usize = 32;
const HEADS: usize = 4;
const HEAD_WIDTH: usize = 8;
const BATCH: usize = 64;
const STEPS: usize = 300;
const LEARNING_RATE: f64 = 3e-3;
const TEST_SEQUENCES: usize = 1000;
/// The fraction of held-out sequences that must come out exactly reversed.
const TARGET_ACCURACY: f64 = 0.95;

/// Random token sequences and their reversals.
struct Batch {
    /// The input tokens, one-hot: (sequences, positions, vocabulary).
    one_hot: Array3<f64>,
    /// The wanted tokens, one row per sequence.
    targets: Array2<usize>,
}

impl Batch {
    fn draw<R: Rng + ?Sized>(sequences: usize, rng: &mut R) -> Batch {
        let tokens = Array2::from_shape_fn((sequences, LENGTH), |_| rng.random_range(0..VOCAB));
        let one_hot = Array3::from_shape_fn((sequences, LENGTH, VOCAB), |(b, t, v)| {
            f64::from(u8::from(tokens[[b, t]] == v))
        });
        let mut targets = tokens;
        targets.invert_axis(Axis(1));
        Batch {
            one_hot,
            targets: targets.as_standard_layout().to_owned(),
        }
    }

    /// The wanted tokens in row-major order, as `cross_entropy` takes them.
    fn labels(&self) -> Vec<usize> {
        self.targets.iter().copied().collect()
    }
}

/// Token and position embeddings, one self-attention block, and a linear read-out.
struct Reverser {
    embedding: Var<f64>,
    position: Var<f64>,
    attention: SelfAttention,
    readout: Var<f64>,
    bias: Var<f64>,
}

impl Reverser {
    fn new(rng: &mut StdRng) -> Reverser {
        Reverser {
            embedding: Var::new(init::normal(&[VOCAB, WIDTH], 0.0, 1.0, rng)),
            position: Var::new(init::normal(&[LENGTH, WIDTH], 0.0, 1.0, rng)),
            attention: SelfAttention::new(WIDTH, HEADS, HEAD_WIDTH, rng),
            readout: Var::new(init::xavier_uniform::<f64, _>(&[WIDTH, VOCAB], rng)),
            bias: Var::new(Array1::<f64>::zeros(VOCAB)),
        }
    }

    fn params(&self) -> Vec<&Var<f64>> {
        let mut params = vec![&self.embedding, &self.position, &self.readout, &self.bias];
        params.extend(self.attention.params());
        params
    }

    /// Scores over the vocabulary for every position: (sequences * positions, vocabulary).
    fn forward(&self, one_hot: &Array3<f64>) -> Var<f64> {
        let h = einsum!("btv,vm->btm", one_hot, self.embedding) + &self.position;
        let y = self.attention.forward(&h, false);
        let logits = einsum!("btm,mv->btv", y, self.readout) + &self.bias;
        logits.reshape(&[one_hot.len_of(Axis(0)) * LENGTH, VOCAB])
    }

    /// The fractions of sequences entirely right and of tokens right, without recording a graph.
    fn accuracy(&self, batch: &Batch) -> (f64, f64) {
        let predicted = no_grad(|| self.forward(&batch.one_hot).argmax(1));
        let predicted = predicted
            .into_shape_with_order(batch.targets.raw_dim())
            .expect("one prediction per position");
        let right = ndarray::Zip::from(&predicted)
            .and(&batch.targets)
            .map_collect(|p, t| p == t);
        let sequences = right
            .axis_iter(Axis(0))
            .filter(|row| row.iter().all(|&r| r))
            .count();
        let tokens = right.iter().filter(|&&r| r).count();
        (
            sequences as f64 / right.nrows() as f64,
            tokens as f64 / right.len() as f64,
        )
    }
}

fn main() {
    let mut rng = StdRng::seed_from_u64(0);
    let model = Reverser::new(&mut rng);
    let mut opt = Adam::new(model.params(), LEARNING_RATE);
    println!(
        "reverse {LENGTH} digits: embeddings of width {WIDTH}, {HEADS} heads of width {HEAD_WIDTH}, \
         {} parameters; Adam (lr {LEARNING_RATE}), {STEPS} steps of {BATCH} random sequences",
        model.params().iter().map(|p| p.data().len()).sum::<usize>()
    );

    let start = Instant::now();
    for step in 1..=STEPS {
        let batch = Batch::draw(BATCH, &mut rng);
        opt.zero_grad();
        let loss = loss::cross_entropy(&model.forward(&batch.one_hot), &batch.labels());
        loss.backward();
        opt.step();
        if step == 1 || step % 25 == 0 {
            let (sequences, tokens) = model.accuracy(&batch);
            println!(
                "step {step:>4}  loss {:.4}  on this batch: {:5.1}% of tokens, {:5.1}% of sequences right",
                loss.item(),
                100.0 * tokens,
                100.0 * sequences
            );
        }
    }
    let seconds = start.elapsed().as_secs_f64();

    let test = Batch::draw(TEST_SEQUENCES, &mut StdRng::seed_from_u64(1));
    let (sequences, tokens) = model.accuracy(&test);
    println!(
        "final sequence accuracy: {:.1}% of {TEST_SEQUENCES} new sequences reversed exactly ({:.1}% of tokens), after {seconds:.1} s of training",
        100.0 * sequences,
        100.0 * tokens
    );
    if sequences < TARGET_ACCURACY {
        eprintln!(
            "attention: sequence accuracy {:.1}% is below the {:.0}% target",
            100.0 * sequences,
            100.0 * TARGET_ACCURACY
        );
        std::process::exit(1);
    }
}
