//! The multi-head self-attention block of `examples/common/attention.rs` (the model of
//! `examples/attention.rs`) against JAX and against finite differences.
//!
//! `tests/fixtures/attention.json` is written by `scripts/attention_reference.py` (JAX, float64, CPU)
//! and checked in, so this test needs no Python. It holds the input x (2, 4, 6), the projections
//! `wq`, `wk`, `wv` (6, 2, 3) and `wo` (2, 3, 6), an upstream array G, and for the block without and
//! with the causal mask: the output y, the loss `sum(y * G)` and the gradient of that loss with
//! respect to x and every projection.
//!
//! Tolerance: as in `tests/seed_network.rs`, `|got - want| <= 1e-10 * max|want|` for every element.

mod common;

use common::assert::{assert_close, Tol};
use einsum_runtime::rand::{rngs::StdRng, SeedableRng};
use einsum_runtime::{gradcheck, init, Var};
use ndarray::{s, ArrayD};
use serde_json::Value;

#[path = "../examples/common/attention.rs"]
mod attention;
use attention::{self_attention, SelfAttention};

#[path = "fixtures/json.rs"]
mod json;
use json::{array, rel_err};

const RTOL: f64 = 1e-10;

/// Every element within `RTOL` of the largest magnitude of the expected array.
const TOL: Tol<'static> = Tol::rel(RTOL).of_largest();

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/attention.json"))
        .expect("tests/fixtures/attention.json is valid JSON")
}

/// The fixture's block, with fresh leaves (no gradient yet).
fn block_from(f: &Value) -> SelfAttention {
    let param = |name: &str| Var::new(array(&f["params"][name]));
    SelfAttention {
        wq: param("wq"),
        wk: param("wk"),
        wv: param("wv"),
        wo: param("wo"),
    }
}

#[test]
fn attention_matches_jax() {
    let f = fixture();
    let cases = f["cases"].as_array().expect("cases");
    let flags: Vec<bool> = cases
        .iter()
        .map(|c| c["causal"].as_bool().unwrap())
        .collect();
    assert_eq!(
        flags,
        [false, true],
        "one case without and one with the mask"
    );
    let upstream = array(&f["upstream"]);

    for case in cases {
        let causal = case["causal"].as_bool().unwrap();
        let block = block_from(&f);
        let x = Var::new(array(&f["x"]));
        let y = block.forward(&x, causal);
        assert_close(
            &format!("output (causal {causal})"),
            &y.data(),
            &array(&case["output"]),
            TOL,
        );

        let loss = (&y * &upstream).sum();
        let want_loss = case["loss"].as_f64().unwrap();
        assert!(
            (loss.item() - want_loss).abs() <= RTOL * want_loss.abs(),
            "loss (causal {causal}): {} vs JAX {want_loss}",
            loss.item()
        );

        loss.backward();
        let grads = &case["grads"];
        assert_close(
            &format!("grad x (causal {causal})"),
            &x.grad().expect("x has a gradient"),
            &array(&grads["x"]),
            TOL,
        );
        for (name, param) in ["wq", "wk", "wv", "wo"].into_iter().zip(block.params()) {
            assert_close(
                &format!("grad {name} (causal {causal})"),
                &param.grad().expect("every projection has a gradient"),
                &array(&grads[name]),
                TOL,
            );
        }
    }
}

/// The masked and the unmasked block give different outputs on the fixture (except at the last
/// position, which sees every position either way), so the comparison above tells them apart.
#[test]
fn the_mask_changes_the_fixture_outputs() {
    let f = fixture();
    let cases = f["cases"].as_array().expect("cases");
    let (full, causal) = (array(&cases[0]["output"]), array(&cases[1]["output"]));
    let first = |y: &ArrayD<f64>| y.slice(s![.., 0, ..]).to_owned();
    let last = |y: &ArrayD<f64>| y.slice(s![.., -1, ..]).to_owned();
    assert!(rel_err(first(&full).into_dyn().view(), &first(&causal).into_dyn()).unwrap() > 1e-3);
    assert_close(
        "last position, with and without the mask",
        &last(&full),
        &last(&causal),
        Tol::rel(1e-12).of_largest(),
    );
}

#[test]
fn attention_gradients_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(11);
    // One batch of 3 positions, width 4, 2 heads of width 2: 12 + 3 * 16 + 16 = 76 elements.
    let block = SelfAttention::new(4, 2, 2, &mut rng);
    let x = init::normal(&[1, 3, 4], 0.0, 1.0, &mut rng);
    let upstream = init::normal(&[1, 3, 4], 0.0, 1.0, &mut rng);
    let mut inputs = vec![x];
    inputs.extend(block.params().map(|p| (*p.data()).clone()));
    for causal in [false, true] {
        let f = |v: &[Var<f64>]| {
            (self_attention(&v[0], [&v[1], &v[2], &v[3], &v[4]], causal) * &upstream).sum()
        };
        let report =
            gradcheck(f, &inputs, 1e-6, 1e-7).unwrap_or_else(|e| panic!("causal {causal}: {e}"));
        assert_eq!(report.checked, 76);
    }
}

/// With the mask, changing the input at the last position changes no output before it; without
/// the mask, it changes every output.
#[test]
fn the_causal_mask_hides_later_positions() {
    let mut rng = StdRng::seed_from_u64(3);
    let block = SelfAttention::new(4, 2, 3, &mut rng);
    let x = init::normal(&[2, 5, 4], 0.0, 1.0, &mut rng);
    let mut moved = x.clone();
    moved.slice_mut(s![.., 4, ..]).mapv_inplace(|v| v + 0.5);
    for causal in [true, false] {
        let y = block.forward(&Var::constant(x.clone()), causal).data();
        let y_moved = block.forward(&Var::constant(moved.clone()), causal).data();
        for position in 0..5 {
            let change = (&y.slice(s![.., position, ..]) - &y_moved.slice(s![.., position, ..]))
                .iter()
                .fold(0.0f64, |m, d| m.max(d.abs()));
            let hidden = causal && position < 4;
            assert_eq!(
                change == 0.0,
                hidden,
                "causal {causal}, position {position}: the output changed by {change:e}"
            );
        }
    }
}
