//! Bindings: each operand expression evaluated once and converted, and each label's extent read
//! from the operands' shapes and checked.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Expr;

use super::kernel::{extent, local, try_value};
use super::rt;
use crate::input::Input;
use crate::plan::Plan;

/// The hygienic local of operand `i`, *located* at the operand's expression, so that type errors
/// about it (rank, element type, not an array) point at the user's expression.
pub fn operand_locals(input: &Input) -> Vec<Ident> {
    input
        .operands
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let span = Span::mixed_site().located_at(e.span());
            Ident::new(&format!("__einsum_op{i}"), span)
        })
        .collect()
}

/// `match (&(a), &(b)) { (op0, op1) => { <conversions> #body } }`: every operand expression is
/// evaluated once and borrowed, then converted with a check of what its type can tell.
///
/// An operand written `&x` (or `&&x`) is borrowed as `&(x)`, not `&(&x)`: the same operand, but a borrow of the
/// place `x` rather than of a temporary reference to it, which would die at the end of the statement
/// and so could not be borrowed by the closure that `einsum_vjp!` returns.
pub fn emit_operands(plan: &Plan, input: &Input, ops: &[Ident], body: TokenStream) -> TokenStream {
    let rt = rt();
    let exprs = input.operands.iter().map(|e| {
        let span = e.span();
        let mut place = e;
        while let Expr::Reference(r) = place {
            if r.mutability.is_some() {
                break;
            }
            place = &r.expr;
        }
        quote_spanned!(span=> &(#place))
    });
    let convert = input
        .operands
        .iter()
        .zip(ops)
        .zip(&plan.inputs)
        .enumerate()
        .map(|(i, ((e, op), term))| {
            // Every token of the conversion, the runtime's path included, sits at the operand's
            // expression: a type that is not an operand then fails one obligation at one place, and
            // the compiler reports it once.
            let span = e.span();
            let labels_n = term.labels.len();
            let here = op.span();
            let rt = respan(rt.clone(), here);
            let (labels_n, i) = (
                Literal::usize_unsuffixed(labels_n),
                Literal::usize_unsuffixed(i),
            );
            let labels = respan(quote!(#labels_n), here);
            let index = respan(quote!(#i), here);
            let check = match term.fixed_rank() {
                Some(_) => quote_spanned!(here=> #rt::rank::<_, _, _, _, #labels, #index>(&#op)),
                None => {
                    quote_spanned!(here=> #rt::rank_at_least::<_, _, _, _, #labels, #index>(&#op))
                }
            };
            let convert = quote_spanned!(here=> #rt::operand(#op));
            quote_spanned! {span=>
                let #op = #convert;
                #check;
            }
        });
    quote! {
        match (#(#exprs,)*) {
            (#(#ops,)*) => {
                #(#convert)*
                #body
            }
        }
    }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect()
}

/// The view locals the kernels receive, one per operand.
pub fn view_locals(n: usize) -> Vec<Ident> {
    (0..n).map(|i| local(&format!("v{i}"))).collect()
}

/// Every label's extent, in the order of [`Plan::labels`], bound to `n_i, n_j, ..`: from `known`
/// where it holds them (a gradient's call of the forward kernel), otherwise from the operands'
/// shapes, checked (ranks, extents against each other, 1 broadcasting).
///
/// The common case is matched inline: every operand has its term's rank and every label the same
/// extent wherever it occurs, a few integer comparisons. Anything else (an extent of 1 broadcast
/// against a longer one, or an error) goes to the runtime's `bind`, out of line, which checks it
/// all in order and describes the first disagreement:
///
/// ```text
/// let bound = match (known, v0.shape(), v1.shape()) {
///     (Some(known), ..) => known,
///     (None, &[n_i, n_j], &[n_j_1, n_k]) if n_j_1 == n_j => [n_i, n_j, n_k],
///     _ => bind(known, ..)?,
/// };
/// let [n_i, n_j, n_k] = bound;
/// ```
pub fn emit_extents(plan: &Plan, views: &[Ident], known: &Ident, bound: &Ident) -> TokenStream {
    let rt = rt();
    let labels = plan.labels();
    let names: Vec<Ident> = labels.iter().map(|&l| extent(l)).collect();
    let pattern = &plan.pattern;
    let terms = plan.inputs.iter().map(|t| &t.spelling);
    // Each operand's axes as indices into `labels`.
    let slots: Vec<Vec<usize>> = plan
        .inputs
        .iter()
        .map(|t| {
            t.chars()
                .map(|c| {
                    labels
                        .iter()
                        .position(|&l| l == c)
                        .expect("the label table holds every label")
                })
                .collect()
        })
        .collect();
    let axes = slots.iter().map(|s| quote!(&[#(#s),*]));
    // The inline match: the first axis of each label binds its name, every later one a name of
    // its own that the guard compares with the first.
    let mut seen = vec![0usize; labels.len()];
    let mut same = Vec::new();
    let shapes: Vec<TokenStream> = slots
        .iter()
        .map(|s| {
            let axes = s.iter().map(|&slot| {
                seen[slot] += 1;
                let first = &names[slot];
                if seen[slot] == 1 {
                    return first.clone();
                }
                let again = Ident::new(&format!("{first}_{}", seen[slot] - 1), first.span());
                same.push(quote!(#again == #first));
                again
            });
            let axes: Vec<Ident> = axes.collect();
            quote!(&[#(#axes),*])
        })
        .collect();
    let guard = (!same.is_empty()).then(|| quote!(if #(#same)&&*));
    let bind = try_value(quote! {
        #rt::bind(
            #known,
            #pattern,
            [#(#labels),*],
            &[#(#terms),*],
            &[#(#axes),*],
            &[#(#views.shape()),*],
        )
    });
    quote! {
        let #bound = match (#known, #(#views.shape()),*) {
            (::core::option::Option::Some(#bound), ..) => #bound,
            (::core::option::Option::None, #(#shapes),*) #guard => [#(#names),*],
            _ => #bind,
        };
        let [#(#names),*] = #bound;
    }
}
