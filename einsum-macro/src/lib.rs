//! Procedural macros of [`einsum-runtime`](https://docs.rs/einsum-runtime). Depend on `einsum-runtime`,
//! which re-exports them; this crate's output calls into that crate's hidden `__private` module.
//!
//! Each macro runs parse -> check -> plan -> emit, one module each. Only `emit` produces tokens, and
//! it never validates.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod check;
mod emit;
#[cfg(test)]
mod expansion_tests;
mod explain;
mod input;
mod pattern;
mod plan;
#[cfg(test)]
mod proptests;
mod schedule;

use proc_macro::TokenStream;
use quote::quote;

use check::{check_operand_count, check_pattern, problems_error};
use emit::Mode;
use input::Input;
use pattern::{parse_pattern, Pattern};
use plan::Plan;

/// The whole pipeline: parse, check, plan, emit. Any problem yields compile errors and no other code.
fn expand(tokens: proc_macro2::TokenStream, mode: Mode) -> proc_macro2::TokenStream {
    // Several errors are several `compile_error!`s: a block keeps them one expression.
    try_expand(tokens, mode).unwrap_or_else(|e| {
        let errors = e.into_compile_error();
        quote!({ #errors })
    })
}

fn try_expand(
    tokens: proc_macro2::TokenStream,
    mode: Mode,
) -> syn::Result<proc_macro2::TokenStream> {
    let input: Input = syn::parse2(tokens)?;
    let (text, pattern) = checked_pattern(&input)?;
    check_operand_count(&pattern, &input)?;
    Ok(emit::emit(&Plan::new(&text, &pattern), &input, mode))
}

/// The pattern's text, parsed and checked: all its problems as one error.
fn checked_pattern(input: &Input) -> syn::Result<(String, Pattern)> {
    let text = input.pattern.value();
    let pattern = parse_pattern(&text).map_err(|problems| {
        problems_error(input, &text, problems).expect("parse errors are never empty")
    })?;
    check_pattern(input, &text, &pattern)?;
    Ok((text, pattern))
}

/// `einsum_plan!`: the same parse and check, then the plan described as a string literal.
fn try_explain(tokens: proc_macro2::TokenStream) -> syn::Result<proc_macro2::TokenStream> {
    let input: Input = syn::parse2(tokens)?;
    if let Some(extra) = input.operands.first() {
        return Err(syn::Error::new(
            syn::spanned::Spanned::span(extra),
            "`einsum_plan!` takes only a pattern, no operands",
        ));
    }
    let (text, pattern) = checked_pattern(&input)?;
    let description = explain::explain(&Plan::new(&text, &pattern));
    Ok(quote!(#description))
}

/// Evaluates an einsum; see `einsum_runtime::einsum!`.
#[proc_macro]
pub fn einsum(tokens: TokenStream) -> TokenStream {
    expand(tokens.into(), Mode::Panic).into()
}

/// Evaluates an einsum, returning a `Result`; see `einsum_runtime::try_einsum!`.
#[proc_macro]
pub fn try_einsum(tokens: TokenStream) -> TokenStream {
    expand(tokens.into(), Mode::Try).into()
}

/// Evaluates an einsum and returns its backward closure; see `einsum_runtime::einsum_vjp!`.
#[proc_macro]
pub fn einsum_vjp(tokens: TokenStream) -> TokenStream {
    expand(tokens.into(), Mode::Vjp).into()
}

/// Describes what the macros generate for a pattern; see `einsum_runtime::einsum_plan!`.
#[proc_macro]
pub fn einsum_plan(tokens: TokenStream) -> TokenStream {
    try_explain(tokens.into())
        .unwrap_or_else(|e| {
            let errors = e.into_compile_error();
            quote!({ #errors })
        })
        .into()
}
