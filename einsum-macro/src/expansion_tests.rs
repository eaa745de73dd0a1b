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

/// The gradient functions of `einsum!` and `try_einsum!` are free functions (not trait methods, whose
/// optimized MIR a library's metadata would store) whose parameters and result are all references,
/// one per operand: what keeps an optimized build from optimizing gradient kernels that no call on
/// arrays runs (see `emit_grad_fns`). The forward kernel stays the trait's only method.
#[test]
fn gradient_functions_take_and_return_references() {
    let calls = [
        quote!("ij,jk->ik", a, b),
        quote!("ii->", m),
        quote!("ij,jk,kl->il", a, b, c),
        quote!("bij,bj->bi", x, y),
    ];
    for (call, operands) in calls.into_iter().zip([2, 1, 3, 2]) {
        for mode in [Mode::Panic, Mode::Try] {
            let block: syn::ExprBlock =
                syn::parse2(expand(call.clone(), mode)).expect("the expansion is a block");
            let mut grads = 0;
            for stmt in &block.block.stmts {
                match stmt {
                    syn::Stmt::Item(syn::Item::Trait(t)) => {
                        assert_eq!(t.items.len(), 1, "the trait holds only the forward kernel");
                    }
                    syn::Stmt::Item(syn::Item::Fn(f)) => {
                        let name = f.sig.ident.to_string();
                        assert!(
                            name.starts_with("__einsum_grad"),
                            "unexpected function {name}"
                        );
                        grads += 1;
                        for input in &f.sig.inputs {
                            let syn::FnArg::Typed(arg) = input else {
                                panic!("{name} has a receiver");
                            };
                            assert!(
                                matches!(*arg.ty, syn::Type::Reference(_)),
                                "{name} takes a parameter by value"
                            );
                        }
                        assert!(
                            matches!(&f.sig.output, syn::ReturnType::Type(_, t) if matches!(**t, syn::Type::Reference(_))),
                            "{name} does not return a reference"
                        );
                    }
                    _ => {}
                }
            }
            assert_eq!(grads, operands, "one gradient function per operand");
        }
    }
}
