//! Code generation. Everything here has been validated already; this module only turns a [`Plan`]
//! into tokens. The runtime is reached only through `::einsum_runtime::__private`, written once below.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::check::{check_operand_count, check_pattern};
use crate::input::Input;
use crate::pattern::parse_pattern;
use crate::plan::{GradPlan, Plan, TermPlan};

/// Which macro is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `einsum!`: the result, panicking on a shape mismatch.
    Panic,
    /// `try_einsum!`: `Result` of the result.
    Try,
    /// `einsum_vjp!`: the result and the backward closure.
    Vjp,
}

/// The whole pipeline: parse, check, plan, emit. Any problem yields compile errors and no other code.
pub fn expand(tokens: TokenStream, mode: Mode) -> TokenStream {
    // Several errors are several `compile_error!`s: a block keeps them one expression.
    try_expand(tokens, mode).unwrap_or_else(|e| {
        let errors = e.into_compile_error();
        quote!({ #errors })
    })
}

fn try_expand(tokens: TokenStream, mode: Mode) -> syn::Result<TokenStream> {
    let input: Input = syn::parse2(tokens)?;
    let text = input.pattern.value();
    let pattern = parse_pattern(&text).map_err(|problems| {
        combine_problems(&input, &text, problems).expect("parse errors are never empty")
    })?;
    if let Some(error) = combine_problems(&input, &text, check_pattern(&pattern)) {
        return Err(error);
    }
    check_operand_count(&pattern, &input)?;
    let plan = Plan::new(&text, &pattern);
    Ok(emit(&plan, &input, mode))
}

fn combine_problems(
    input: &Input,
    text: &str,
    problems: Vec<crate::pattern::Problem>,
) -> Option<syn::Error> {
    problems
        .into_iter()
        .map(|p| syn::Error::new(input.pattern.span(), p.render(text)))
        .reduce(|mut all, e| {
            all.combine(e);
            all
        })
}

/// The runtime's hidden module: the one place generated code names it.
fn rt() -> TokenStream {
    quote!(::einsum_runtime::__private)
}

fn emit(plan: &Plan, input: &Input, mode: Mode) -> TokenStream {
    let rt = rt();
    let n = plan.inputs.len();
    // Each operand's local is hygienic (mixed-site) but *located* at the operand, so that type errors
    // about it (rank, element type, not an array) point at the user's expression.
    let ops: Vec<Ident> = input
        .operands
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let span = Span::mixed_site().located_at(e.span());
            Ident::new(&format!("__einsum_op{i}"), span)
        })
        .collect();
    let local = |name: &str| Ident::new(name, Span::mixed_site());
    let (spec, grads) = (local("__EINSUM_SPEC"), local("__EINSUM_GRADS"));

    let exprs = input.operands.iter().map(|e| {
        let span = e.span();
        quote_spanned!(span=> &(#e))
    });
    // Evaluate every operand expression once, borrowing it, and check what its type can tell.
    let bind = input.operands.iter().zip(&ops).zip(&plan.inputs).map(|((e, op), term)| {
        let span = e.span();
        let labels = term.labels.len();
        let check = match term.fixed_rank() {
            Some(_) => quote_spanned!(span=> ::einsum_runtime::__private::rank::<_, _, _, #labels>(&#op)),
            None => quote_spanned!(span=> ::einsum_runtime::__private::rank_at_least::<_, _, _, #labels>(&#op)),
        };
        quote_spanned! {span=>
            let #op = ::einsum_runtime::__private::operand(#op);
            #check;
        }
    });
    let args = input.operands.iter().zip(&ops).map(|(e, op)| {
        let span = e.span();
        quote_spanned!(span=> #op.arg())
    });

    let pattern = &plan.pattern;
    let inputs = plan.inputs.iter().map(emit_term);
    let output = emit_term(&plan.output);
    let grad_specs = (0..n).map(|k| emit_grad(&plan.grad(k)));
    let dim = match plan.output_rank() {
        Some(rank) => {
            let ix = format_ident!("Ix{}", rank);
            quote!(#rt::#ix)
        }
        None => quote!(#rt::IxDyn),
    };

    let body = match mode {
        Mode::Panic | Mode::Try => {
            // The parser yields at least one term, and `check_operand_count` matched operands to terms.
            let first = &ops[0];
            let kind = ops[1..]
                .iter()
                .fold(quote!(#first.kind()), |acc, op| quote!(#acc.or(#op.kind())));
            let method = if mode == Mode::Try {
                quote!(try_finish)
            } else {
                quote!(finish)
            };
            quote!(#rt::Finish::<_, #dim, #n>::#method(#kind, &#spec, &#grads, [#(#args),*]))
        }
        Mode::Vjp => {
            let (value, back, g) = (
                local("__einsum_value"),
                local("__einsum_back"),
                local("__einsum_g"),
            );
            let gs: Vec<Ident> = (0..n).map(|i| local(&format!("__einsum_g{i}"))).collect();
            let views = input.operands.iter().zip(&ops).map(|(e, op)| {
                let span = e.span();
                quote_spanned!(span=> #op.view())
            });
            quote! {
                let (#value, #back) = #rt::vjp::<_, #dim, #n>(&#spec, &#grads, [#(#views),*]);
                (#value, move |#g: &#rt::Array<_, #dim>| {
                    let [#(#gs),*] = #back(#g);
                    (#(#rt::into_dim_of(#gs, &#ops),)*)
                })
            }
        }
    };

    quote! {
        {
            const #spec: #rt::Spec = #rt::Spec {
                pattern: #pattern,
                inputs: &[#(#inputs),*],
                output: #output,
            };
            const #grads: [#rt::GradSpec; #n] = [#(#grad_specs),*];
            match (#(#exprs,)*) {
                (#(#ops,)*) => {
                    #(#bind)*
                    #body
                }
            }
        }
    }
}

fn emit_term(term: &TermPlan) -> TokenStream {
    let rt = rt();
    let labels = &term.labels;
    let spelling = &term.spelling;
    let ellipsis = match term.ellipsis {
        Some(i) => quote!(::core::option::Option::Some(#i)),
        None => quote!(::core::option::Option::None),
    };
    quote!(#rt::Term { labels: &[#(#labels),*], ellipsis: #ellipsis, spelling: #spelling })
}

fn emit_grad(grad: &GradPlan) -> TokenStream {
    let rt = rt();
    let inputs = grad.inputs.iter().map(emit_term);
    let sources = &grad.sources;
    let output = emit_term(&grad.output);
    let target = emit_term(&grad.target);
    quote! {
        #rt::GradSpec {
            inputs: &[#(#inputs),*],
            sources: &[#(#sources),*],
            output: #output,
            target: #target,
        }
    }
}
