//! A multi-layer perceptron that learns to read handwritten digits, written with `einsum!` on `Var`s.
//!
//! The data are the 1,797 8x8 handwritten digits of the UCI repository (the copy scikit-learn ships;
//! CC BY 4.0, see `data/README.md`), compiled into the program from `data/digits.bin.gz`, so nothing
//! is downloaded or read at run time. They are shuffled with a fixed seed and split into 1,437
//! training and 360 test images. Each layer is `einsum!("bi,io->bo", h, w) + b`, with a ReLU between
//! layers (64 -> 128 -> 64 -> 10), and the network is trained with `Adam` on mini-batches of 32 to
//! minimize the softmax cross-entropy. After every epoch the test accuracy is measured under
//! `no_grad`; the program prints the final test accuracy and exits non-zero if it is below 95%.
//!
//! On a terminal a progress bar shows the epoch, the loss and the accuracies; when stdout is not a
//! terminal (CI logs, pipes) there is no bar, only a plain line every few epochs.
//!
//! Run with `cargo run --release --example mlp_classifier`, or add `-- --plot loss.png` to also draw
//! the training loss and the test accuracy per epoch into a PNG (`--epochs N` changes the number of
//! epochs).

use std::io::{IsTerminal, Read};
use std::time::Instant;

use einsum_runtime::rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};
use einsum_runtime::{einsum, init, loss, no_grad, optim::Adam, Var};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::{Array1, Array2, Axis};

/// The digits: gzip of 1,797 records of 65 bytes (the class, then 64 pixels in 0..=16, row-major).
const DIGITS_GZ: &[u8] = include_bytes!("../data/digits.bin.gz");
const IMAGES: usize = 1797;
const PIXELS: usize = 64;
const CLASSES: usize = 10;

const SEED: u64 = 0;
const TEST_IMAGES: usize = 360;
const HIDDEN: [usize; 2] = [128, 64];
const BATCH: usize = 32;
const LEARNING_RATE: f32 = 1e-3;
const EPOCHS: usize = 30;
/// The accuracy on the held-out images that the program promises (and checks).
const TARGET_ACCURACY: f64 = 0.95;

/// Images (one row of pixels scaled to [0, 1] each) and their classes.
struct Dataset {
    x: Array2<f32>,
    y: Vec<usize>,
}

impl Dataset {
    /// The committed digits, decompressed and checked.
    fn digits() -> Dataset {
        let mut raw = Vec::with_capacity(IMAGES * (PIXELS + 1));
        flate2::read::GzDecoder::new(DIGITS_GZ)
            .read_to_end(&mut raw)
            .expect("data/digits.bin.gz is a valid gzip stream");
        assert_eq!(
            raw.len(),
            IMAGES * (PIXELS + 1),
            "data/digits.bin.gz holds 1,797 records of 65 bytes"
        );
        let records = Array2::from_shape_vec((IMAGES, PIXELS + 1), raw).expect("checked length");
        let y: Vec<usize> = records.column(0).iter().map(|&c| usize::from(c)).collect();
        assert!(y.iter().all(|&c| c < CLASSES), "classes are 0..=9");
        let x = records
            .slice(ndarray::s![.., 1..])
            .mapv(|p| f32::from(p) / 16.0);
        Dataset { x, y }
    }

    /// The images at `rows`, in that order.
    fn select(&self, rows: &[usize]) -> Dataset {
        Dataset {
            x: self.x.select(Axis(0), rows),
            y: rows.iter().map(|&r| self.y[r]).collect(),
        }
    }

    fn len(&self) -> usize {
        self.y.len()
    }
}

/// Fully connected layers `h = relu(h w + b)`, the last without the ReLU (it gives the class scores).
struct Mlp {
    layers: Vec<(Var<f32>, Var<f32>)>,
}

impl Mlp {
    /// Xavier-uniform weights and zero biases, for layer widths `widths[0] -> widths[1] -> ...`.
    fn new(widths: &[usize], rng: &mut StdRng) -> Mlp {
        let layers = widths
            .windows(2)
            .map(|io| {
                let w = Var::new(init::xavier_uniform::<f32, _>(&[io[0], io[1]], rng));
                let b = Var::new(Array1::<f32>::zeros(io[1]));
                (w, b)
            })
            .collect();
        Mlp { layers }
    }

    fn params(&self) -> impl Iterator<Item = &Var<f32>> {
        self.layers.iter().flat_map(|(w, b)| [w, b])
    }

    fn parameter_count(&self) -> usize {
        self.params().map(|p| p.data().len()).sum()
    }

    /// Class scores (logits) of shape (batch, classes) for images `x` of shape (batch, pixels).
    fn forward(&self, x: &Array2<f32>) -> Var<f32> {
        let mut h = Var::constant(x.clone());
        for (k, (w, b)) in self.layers.iter().enumerate() {
            h = einsum!("bi,io->bo", h, w) + b;
            if k + 1 < self.layers.len() {
                h = h.relu();
            }
        }
        h
    }

    /// The fraction of `data` classified correctly, computed without recording a graph.
    fn accuracy(&self, data: &Dataset) -> f64 {
        let predicted = no_grad(|| self.forward(&data.x).argmax(1));
        let correct = predicted
            .iter()
            .zip(&data.y)
            .filter(|(p, y)| p == y)
            .count();
        correct as f64 / data.len() as f64
    }
}

/// What one epoch of training measured.
struct EpochStats {
    /// The mean of the mini-batch losses.
    loss: f64,
    /// The fraction of training images classified correctly during the epoch (before each step).
    train_accuracy: f64,
    /// The fraction of test images classified correctly after the epoch.
    test_accuracy: f64,
}

struct Args {
    plot: Option<String>,
    epochs: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        plot: None,
        epochs: EPOCHS,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--plot" => args.plot = Some(it.next().ok_or("--plot needs a file name")?),
            "--epochs" => {
                let n = it.next().ok_or("--epochs needs a number")?;
                args.epochs = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--epochs needs a positive number, not {n:?}"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("mlp_classifier: {e}\nusage: mlp_classifier [--plot PATH.png] [--epochs N]");
        std::process::exit(2);
    });

    let mut rng = StdRng::seed_from_u64(SEED);
    let all = Dataset::digits();
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.shuffle(&mut rng);
    let (test_rows, train_rows) = order.split_at(TEST_IMAGES);
    let (train, test) = (all.select(train_rows), all.select(test_rows));
    println!(
        "digits: {} images of 8x8 pixels, {CLASSES} classes; {} for training, {} held out for testing (shuffled with seed {SEED})",
        all.len(),
        train.len(),
        test.len()
    );

    let widths: Vec<usize> = [PIXELS]
        .into_iter()
        .chain(HIDDEN)
        .chain([CLASSES])
        .collect();
    let mlp = Mlp::new(&widths, &mut rng);
    let mut opt = Adam::new(mlp.params(), LEARNING_RATE);
    println!(
        "model: {} with ReLU, {} parameters; Adam (lr {LEARNING_RATE}), mini-batches of {BATCH}, {} epochs",
        widths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" -> "),
        mlp.parameter_count(),
        args.epochs
    );

    let terminal = std::io::stdout().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(args.epochs as u64),
        if terminal {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("epoch {pos:>3}/{len} [{bar:30}] {elapsed} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );

    let start = Instant::now();
    let mut history: Vec<EpochStats> = Vec::with_capacity(args.epochs);
    let mut rows: Vec<usize> = (0..train.len()).collect();
    for epoch in 1..=args.epochs {
        rows.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0, 0);
        for batch_rows in rows.chunks(BATCH) {
            let batch = train.select(batch_rows);
            opt.zero_grad();
            let logits = mlp.forward(&batch.x);
            let loss = loss::cross_entropy(&logits, &batch.y);
            loss.backward();
            opt.step();
            loss_sum += f64::from(loss.item()) * batch.len() as f64;
            correct += logits
                .argmax(1)
                .iter()
                .zip(&batch.y)
                .filter(|(p, y)| p == y)
                .count();
        }
        let stats = EpochStats {
            loss: loss_sum / train.len() as f64,
            train_accuracy: correct as f64 / train.len() as f64,
            test_accuracy: mlp.accuracy(&test),
        };
        let line = format!(
            "loss {:.4}  train accuracy {:5.1}%  test accuracy {:5.1}%",
            stats.loss,
            100.0 * stats.train_accuracy,
            100.0 * stats.test_accuracy
        );
        bar.set_message(line.clone());
        bar.inc(1);
        if !terminal && (epoch % 5 == 0 || epoch == 1 || epoch == args.epochs) {
            println!("epoch {epoch:>3}/{}  {line}", args.epochs);
        }
        history.push(stats);
    }
    let seconds = start.elapsed().as_secs_f64();
    bar.finish();

    let accuracy = history.last().expect("at least one epoch").test_accuracy;
    println!(
        "final test accuracy: {:.1}% ({} of {} held-out images) after {} epochs, {seconds:.1} s of training",
        100.0 * accuracy,
        (accuracy * test.len() as f64).round(),
        test.len(),
        args.epochs
    );

    if let Some(path) = &args.plot {
        match plot::draw(path, &history) {
            Ok(()) => println!("wrote {path}: training loss and test accuracy per epoch"),
            Err(e) => {
                eprintln!("mlp_classifier: could not write {path}: {e}");
                std::process::exit(1);
            }
        }
    }
    if accuracy < TARGET_ACCURACY {
        eprintln!(
            "mlp_classifier: test accuracy {:.1}% is below the {:.0}% target",
            100.0 * accuracy,
            100.0 * TARGET_ACCURACY
        );
        std::process::exit(1);
    }
}

/// The `--plot` picture: training loss (log scale) and test accuracy per epoch, side by side.
mod plot {
    use plotters::prelude::*;
    use plotters::style::{register_font, FontStyle};

    use super::EpochStats;

    /// The font every label is drawn with: DejaVu Sans from the `dejavu` crate, embedded in the
    /// program, so that no font has to be installed on the machine.
    const FONT: &str = "sans-serif";

    pub fn draw(path: &str, history: &[EpochStats]) -> Result<(), Box<dyn std::error::Error>> {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "the embedded DejaVu Sans font did not load")?;
        let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(
            "MLP on the 8x8 digits: einsum! layers, Adam",
            (FONT, 24).into_font(),
        )?;
        let (left, right) = root.split_horizontally(600);
        let epochs = history.len() as f64;
        let epoch_range = 1.0..epochs.max(2.0);

        let losses: Vec<(f64, f64)> = (1..)
            .zip(history)
            .map(|(e, s)| (f64::from(e), s.loss))
            .collect();
        let (lo, hi) = losses
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), &(_, l)| {
                (lo.min(l), hi.max(l))
            });
        let mut chart = ChartBuilder::on(&left)
            .caption("training loss (cross-entropy)", (FONT, 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(epoch_range.clone(), (lo * 0.8..hi * 1.25).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|e| format!("{e:.0}"))
            .y_desc("mean loss over the epoch (log scale)")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()?;
        chart.draw_series(LineSeries::new(
            losses.iter().copied(),
            BLUE.stroke_width(2),
        ))?;
        chart.draw_series(losses.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))?;

        let accuracies: Vec<(f64, f64)> = (1..)
            .zip(history)
            .map(|(e, s)| (f64::from(e), 100.0 * s.test_accuracy))
            .collect();
        let floor = accuracies
            .iter()
            .fold(100.0f64, |m, &(_, a)| m.min(a))
            .min(90.0);
        let mut chart = ChartBuilder::on(&right)
            .caption("accuracy on the 360 held-out images", (FONT, 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(epoch_range, (floor - 2.0).max(0.0)..100.0)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|e| format!("{e:.0}"))
            .y_desc("test accuracy")
            .y_label_formatter(&|a| format!("{a:.0}%"))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()?;
        chart.draw_series(LineSeries::new(
            accuracies.iter().copied(),
            RED.stroke_width(2),
        ))?;
        chart.draw_series(accuracies.iter().map(|&p| Circle::new(p, 3, RED.filled())))?;
        root.present()?;
        Ok(())
    }
}
