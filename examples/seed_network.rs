//! The network at the end of the seed blog post, with `Var` and `einsum!`, checked against JAX.
//!
//! x (2×3) goes through four layers `x = sigmoid(einsum(p, x, w))` with weights of shapes (3, 4),
//! (4, 5), (1, 2, 5), (5, 3) and patterns `ij,jk->ik`, `ij,jk->ik`, `ij,cij->ij`, `ab,bd->`; the
//! final scalar is the output. The inputs and JAX's gradients come from
//! `tests/fixtures/seed_network.json`, written by `scripts/reference_grads.py` (no Python is needed
//! to run this). Prints, for x and each weight, whether the gradient matches (relative error at most
//! 1e-10 of the reference array's largest magnitude), and exits non-zero on any mismatch.
//!
//! Run with `cargo run --example seed_network`.

use ndarray::ArrayD;
use serde_json::Value;

#[path = "../tests/fixtures/seed_network.rs"]
mod seed;
use seed::{array, rel_err};

const RTOL: f64 = 1e-10;

fn main() {
    let fixture = seed::fixture();
    let net = &fixture["network"];
    let seed::Network {
        x,
        weights,
        output: out,
    } = seed::build(net);
    out.backward();

    let mut ok = true;
    let got_out = *out.data().first().expect("a scalar output");
    let want_out = net["output"].as_f64().expect("output");
    let out_err = (got_out - want_out).abs() / want_out.abs();
    ok &= out_err <= RTOL;
    println!(
        "{:<28} {:>10}  (relative error {:.1e}; value {got_out})",
        "output",
        if out_err <= RTOL {
            "matches"
        } else {
            "MISMATCH"
        },
        out_err
    );

    let mut report = |name: String, got: Option<ArrayD<f64>>, want: &Value| {
        let err = got.map_or(f64::INFINITY, |g| {
            rel_err(g.view(), &array(want)).unwrap_or(f64::INFINITY)
        });
        let good = err <= RTOL;
        ok &= good;
        println!(
            "{name:<28} {:>10}  (relative error {err:.1e})",
            if good { "matches" } else { "MISMATCH" }
        );
    };
    report("grad x (2, 3)".into(), x.grad(), &net["grad_x"]);
    for (k, (w, want)) in weights
        .iter()
        .zip(net["grad_weights"].as_array().expect("grads"))
        .enumerate()
    {
        report(
            format!("grad w{} {:?} {}", k + 1, w.shape(), seed::PATTERNS[k]),
            w.grad(),
            want,
        );
    }

    if ok {
        println!("all gradients match JAX (scripts/reference_grads.py, rtol {RTOL:e})");
    } else {
        eprintln!("gradient mismatch against the JAX reference");
        std::process::exit(1);
    }
}
