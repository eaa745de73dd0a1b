//! Procedural macros of [`einsum-runtime`](https://docs.rs/einsum-runtime). Depend on `einsum-runtime`,
//! which re-exports them; this crate's output calls into that crate's hidden `__private` module.
//!
//! Each macro runs parse -> check -> plan -> emit, one module each. Only `emit` produces tokens, and
//! it never validates.

mod check;
mod emit;
#[cfg(test)]
mod expansion_tests;
mod input;
mod pattern;
mod plan;
#[cfg(test)]
mod proptests;

use proc_macro::TokenStream;

/// Evaluates an einsum; see `einsum_runtime::einsum!`.
#[proc_macro]
pub fn einsum(tokens: TokenStream) -> TokenStream {
    emit::expand(tokens.into(), emit::Mode::Panic).into()
}

/// Evaluates an einsum, returning a `Result`; see `einsum_runtime::try_einsum!`.
#[proc_macro]
pub fn try_einsum(tokens: TokenStream) -> TokenStream {
    emit::expand(tokens.into(), emit::Mode::Try).into()
}

/// Evaluates an einsum and returns its backward closure; see `einsum_runtime::einsum_vjp!`.
#[proc_macro]
pub fn einsum_vjp(tokens: TokenStream) -> TokenStream {
    emit::expand(tokens.into(), emit::Mode::Vjp).into()
}
