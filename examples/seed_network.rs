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

use einsum_runtime::{einsum, Var};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

const FIXTURE: &str = include_str!("../tests/fixtures/seed_network.json");
const RTOL: f64 = 1e-10;

/// `{"shape": [...], "data": [...]}` (row-major) as an array.
fn array(v: &Value) -> ArrayD<f64> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("extent") as usize)
        .collect();
    let data: Vec<f64> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).expect("data length matches shape")
}

/// Largest |got - want| over the largest |want| (infinite if the shapes differ).
fn rel_err(got: &ArrayD<f64>, want: &ArrayD<f64>) -> f64 {
    if got.shape() != want.shape() {
        return f64::INFINITY;
    }
    let scale = want.iter().fold(f64::MIN_POSITIVE, |m, w| m.max(w.abs()));
    got.iter()
        .zip(want)
        .fold(0.0, |m, (g, w)| m.max((g - w).abs() / scale))
}

fn main() {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("the fixture is valid JSON");
    let net = &fixture["network"];
    let patterns = ["ij,jk->ik", "ij,jk->ik", "ij,cij->ij", "ab,bd->"];
    assert_eq!(
        net["patterns"],
        serde_json::json!(patterns),
        "the fixture's network is not the one built here"
    );
    let weights: Vec<Var<f64>> = net["weights"]
        .as_array()
        .expect("weights")
        .iter()
        .map(|w| Var::new(array(w)))
        .collect();
    let [w1, w2, w3, w4] = &weights[..] else {
        panic!("the fixture has {} weights, expected 4", weights.len());
    };
    let x = Var::new(array(&net["x"]));

    let h = einsum!("ij,jk->ik", x, w1).sigmoid();
    let h = einsum!("ij,jk->ik", h, w2).sigmoid();
    let h = einsum!("ij,cij->ij", h, w3).sigmoid();
    let out = einsum!("ab,bd->", h, w4).sigmoid();
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
        let err = got.map_or(f64::INFINITY, |g| rel_err(&g, &array(want)));
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
            format!("grad w{} {:?} {}", k + 1, w.shape(), patterns[k]),
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
