//! Snapshots of what the macros expand to, formatted, so that a change to the generated code shows up
//! in review: the loop nests, the GEMM calls with their grouping, the pairwise orders with their cost
//! formulas, and the gradient closures. A snapshot only says that the expansion did not change, not
//! that it is right: the numbers are checked against an independent reference in the workspace's
//! `tests/`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::Mode;
use crate::expand;

fn pretty(tokens: TokenStream, mode: Mode) -> String {
    let expanded = expand(tokens, mode);
    let file: syn::File = syn::parse2(quote!(fn expansion() { let _ = #expanded; }))
        .expect("the expansion is a valid expression");
    prettyplease::unparse(&file)
}

#[test]
fn matrix_product() {
    insta::assert_snapshot!(pretty(quote!("ij,jk->ik", a, b), Mode::Panic));
}

#[test]
fn trace() {
    insta::assert_snapshot!(pretty(quote!("ii->", m), Mode::Panic));
}

#[test]
fn transpose() {
    insta::assert_snapshot!(pretty(quote!("ij->ji", a), Mode::Panic));
}

#[test]
fn batched_product() {
    insta::assert_snapshot!(pretty(quote!("bij,bjk->bik", x, y), Mode::Panic));
}

#[test]
fn chain_of_three() {
    insta::assert_snapshot!(pretty(quote!("ij,jk,kl->il", a, b, c), Mode::Panic));
}

#[test]
fn broadcast_vjp() {
    insta::assert_snapshot!(pretty(quote!("ij,cij->ij", x, w), Mode::Vjp));
}

#[test]
fn trace_vjp() {
    insta::assert_snapshot!(pretty(quote!("ii->", m), Mode::Vjp));
}

#[test]
fn implicit_ellipsis_try() {
    insta::assert_snapshot!(pretty(quote!("...ij,jk", x, w.t()), Mode::Try));
}

#[test]
fn errors_expand_to_compile_errors_only() {
    insta::assert_snapshot!(pretty(quote!("ij->zii", a), Mode::Panic));
}
