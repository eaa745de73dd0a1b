//! Gradients against JAX.
//!
//! `tests/fixtures/seed_network.json` is written by `scripts/reference_grads.py` (JAX, float64, CPU)
//! and checked in, so this test needs no Python. It holds:
//! - the network at the end of the seed blog post: x (2×3) through four layers
//!   `x = sigmoid(einsum(p, x, w))` with patterns `ij,jk->ik`, `ij,jk->ik`, `ij,cij->ij`, `ab,bd->`,
//!   with `jax.grad` of the scalar output with respect to x and every weight;
//! - single einsums that stress the gradient rule, with `jax.vjp` results for a given upstream
//!   gradient, compared here with both `einsum_vjp!` and `Var::backward_with`.
//!
//! Tolerance: every element must satisfy `|got - want| <= 1e-10 * max|want|` (the largest magnitude
//! in the reference array), i.e. a relative error of 1e-10 measured against the array's scale. The
//! network's gradients are small (about 1e-7 to 5e-3, the output sigmoid sits at 0.996), so a bare
//! absolute 1e-10 would be much weaker than it looks.

mod common;

use common::assert::{assert_close, Tol};
use common::checks::same_dim;
use einsum_runtime::{einsum, einsum_vjp, Var};
use ndarray::ArrayD;
use serde_json::Value;

#[path = "fixtures/seed_network.rs"]
mod seed;
use seed::{array, fixture};

const RTOL: f64 = 1e-10;

/// Every element within `RTOL` of the largest magnitude of the expected array.
const TOL: Tol<'static> = Tol::rel(RTOL).of_largest();

#[test]
fn seed_network_matches_jax() {
    let f = fixture();
    let net = &f["network"];
    let seed::Network {
        x,
        weights,
        output: out,
    } = seed::build(net);

    let want_out = net["output"].as_f64().unwrap();
    let got_out = *out.data().first().unwrap();
    assert!(
        (got_out - want_out).abs() <= RTOL * want_out.abs(),
        "output {got_out} vs JAX {want_out}"
    );

    out.backward();
    assert_close("grad x", &x.grad().unwrap(), &array(&net["grad_x"]), TOL);
    for (k, (w, want)) in weights
        .iter()
        .zip(net["grad_weights"].as_array().unwrap())
        .enumerate()
    {
        assert_close(
            &format!("grad weight {k} ({})", seed::PATTERNS[k]),
            &w.grad().expect("a weight gets a gradient"),
            &array(want),
            TOL,
        );
    }
}

/// One fixture case: checks the pattern, the forward value and the gradients of both `einsum_vjp!`
/// and `Var::backward_with` against JAX. `$op`s name the operands in order; with `same` the single
/// operand fills every term and the reference holds its total gradient.
macro_rules! check_case {
    ($cases:expr, $name:literal, $pattern:tt, [$($op:ident),+]) => {{
        let c = case($cases, $name);
        assert_eq!(c["pattern"].as_str(), Some($pattern), "case {}", $name);
        assert_eq!(c["same_operand"].as_bool(), Some(false));
        let ops: Vec<ArrayD<f64>> = c["operands"].as_array().unwrap().iter().map(array).collect();
        let upstream = array(&c["upstream"]);
        let want_out = array(&c["output"]);
        let want: Vec<ArrayD<f64>> = c["grads"].as_array().unwrap().iter().map(array).collect();
        let mut it = ops.iter();
        $(let $op = it.next().expect("operand count");)+
        assert!(it.next().is_none(), "operand count");

        let (z, back) = einsum_vjp!($pattern, $($op),+);
        assert_close(concat!($name, ": einsum_vjp! value"), &z, &want_out, TOL);
        let ($($op,)+) = back(&same_dim(&z, &upstream));
        let got: Vec<ArrayD<f64>> = vec![$($op.into_dyn()),+];
        assert_eq!(got.len(), want.len(), "case {}: gradient count", $name);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_close(&format!("{}: einsum_vjp! grad {k}", $name), g, w, TOL);
        }

        let vars: Vec<Var<f64>> = ops.iter().cloned().map(Var::new).collect();
        let mut it = vars.iter();
        $(let $op = it.next().unwrap();)+
        let z = einsum!($pattern, $($op),+);
        assert_close(concat!($name, ": Var value"), &*z.data(), &want_out, TOL);
        z.backward_with(upstream);
        for (k, (v, w)) in vars.iter().zip(&want).enumerate() {
            assert_close(&format!("{}: Var grad {k}", $name), &v.grad().unwrap(), w, TOL);
        }
    }};
    ($cases:expr, $name:literal, $pattern:tt, same $op:ident) => {{
        let c = case($cases, $name);
        assert_eq!(c["pattern"].as_str(), Some($pattern), "case {}", $name);
        assert_eq!(c["same_operand"].as_bool(), Some(true));
        let $op = array(&c["operands"][0]);
        let upstream = array(&c["upstream"]);
        let want_out = array(&c["output"]);
        let want = array(&c["grads"][0]);

        let (z, back) = einsum_vjp!($pattern, $op, $op);
        assert_close(concat!($name, ": einsum_vjp! value"), &z, &want_out, TOL);
        let (ga, gb) = back(&same_dim(&z, &upstream));
        assert_close(concat!($name, ": einsum_vjp! grads summed"), &(ga + gb), &want, TOL);

        let v = Var::new($op.clone());
        let z = einsum!($pattern, v, v);
        assert_close(concat!($name, ": Var value"), &*z.data(), &want_out, TOL);
        z.backward_with(upstream);
        assert_close(concat!($name, ": Var grad"), &v.grad().unwrap(), &want, TOL);
    }};
}

fn case<'a>(cases: &'a [Value], name: &str) -> &'a Value {
    cases
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name:?} in the fixture"))
}

#[test]
fn einsum_gradient_cases_match_jax() {
    let f = fixture();
    let cases = f["cases"].as_array().unwrap().as_slice();

    check_case!(cases, "diagonal", "ii->i", [a]);
    check_case!(cases, "trace", "ii->", [a]);
    check_case!(cases, "triple_diagonal_sum", "iii->", [a]);
    check_case!(cases, "diagonal_in_product", "iij,jk->ik", [a, b]);
    check_case!(cases, "size1_broadcast", "ij,cij->ij", [a, b]);
    check_case!(cases, "size1_broadcast_both_ways", "ij,ij->ij", [a, b]);
    check_case!(cases, "private_labels", "ab,cd->ab", [a, b]);
    check_case!(cases, "ellipsis_batched", "...ij,jk->...ik", [a, b]);
    check_case!(cases, "ellipsis_broadcast", "...ij,...jk->...ik", [a, b]);
    check_case!(cases, "ellipsis_summed", "...ij->j", [a]);
    check_case!(cases, "batched_matmul", "bij,bjk->bik", [a, b]);
    check_case!(cases, "three_operands", "ij,jk,kl->il", [a, b, c]);
    check_case!(cases, "implicit_output", "ij,jk", [a, b]);
    check_case!(cases, "transpose_permute", "ijk->kji", [a]);
    check_case!(cases, "outer_product", "i,j->ij", [a, b]);
    check_case!(cases, "scalar_operand", ",ij->ij", [a, b]);
    check_case!(cases, "operand_used_twice", "ij,jk->ik", same a);
    check_case!(cases, "operand_used_twice_sum", "ij,ij->", same a);

    // Every case in the fixture is checked above.
    assert_eq!(cases.len(), 18, "a fixture case is not checked here");
}
