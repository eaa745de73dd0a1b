//! Code generation. Everything here has been validated and planned already; this module only turns a
//! [`Plan`] into tokens. The runtime is reached only through `::einsum_runtime::__private`, written
//! once at the top of each expansion and named `__einsum_rt` after it ([`rt`]).
//!
//! - `bind`: the operands, evaluated once and converted, and the extents read from their shapes;
//! - `kernel`: a contraction's loops and GEMM calls;
//! - this file: the kernels' functions (forward, and the gradient of each operand) and the body of
//!   each macro around them.

mod bind;
mod kernel;

use proc_macro2::{Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::input::Input;
use crate::plan::{GradPlan, Plan, TermPlan};
use bind::{emit_extents, emit_operands, operand_locals, view_locals};
use kernel::{emit_contraction, local, Unwrap};

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

/// The runtime's hidden module, as generated code names it: `__einsum_rt`, which every expansion
/// binds once, at its top, to `::einsum_runtime::__private` (the one place it spells that path out;
/// see [`emit`]). The short name keeps the expansion readable, and short: rustc's pretty printer
/// wraps fewer lines (12 and 20 lines fewer per `einsum!` and `einsum_vjp!` call of the probe of
/// `scripts/compile_time.py`).
fn rt() -> TokenStream {
    let name = local("rt");
    quote!(#name)
}

/// The whole expansion of a checked, planned call.
pub fn emit(plan: &Plan, input: &Input, mode: Mode) -> TokenStream {
    let rt = rt();
    let count = plan.inputs.len();
    let n = Literal::usize_unsuffixed(count);
    let ops = operand_locals(input);
    let dim = match plan.output_rank() {
        Some(rank) => {
            let ix = format_ident!("Ix{}", rank);
            quote!(#rt::#ix)
        }
        None => quote!(#rt::IxDyn),
    };
    let (items, forward, grads) = if plan.is_generated() {
        emit_kernel_fns(plan, input, &dim, mode)
    } else {
        emit_executor(plan, mode)
    };
    let pattern = &plan.pattern;
    let body = match mode {
        Mode::Panic | Mode::Try => {
            // The parser yields at least one term, and `check_operand_count` matched operands to terms.
            let first = &ops[0];
            let kind = ops[1..]
                .iter()
                .fold(quote!(#first.kind()), |acc, op| quote!(#acc.or(#op.kind())));
            // Operands after the first are typed like it: a different element type is one error, on
            // the operand, naming both types.
            let args = typed_like_first(
                input,
                &ops,
                |span, op| quote_spanned!(span=> #op.arg()),
                |span, i, op| quote_spanned!(span=> #first.arg_of::<_, _, _, #i>(&#op)),
            );
            let method = if mode == Mode::Try {
                quote!(try_finish)
            } else {
                quote!(finish)
            };
            quote! {
                #rt::Finish::<_, #dim, #n>::#method(#kind, #pattern, [#(#args),*], #forward, || #grads)
            }
        }
        Mode::Vjp => {
            let (value, back, g) = (local("value"), local("back"), local("g"));
            let gs: Vec<Ident> = (0..count).map(|i| local(&format!("g{i}"))).collect();
            let first = &ops[0];
            let views = typed_like_first(
                input,
                &ops,
                |span, op| quote_spanned!(span=> #op.view()),
                |span, i, op| quote_spanned!(span=> #first.view_of::<_, _, #i>(&#op)),
            );
            // The runtime's closure gives each gradient its operand's dimension type, named by
            // `dim()` (`IntoDims`, for up to twelve operands); beyond, a closure here converts them.
            if count <= 12 {
                quote! {
                    #rt::vjp::<_, #dim, _, _, _, #n>(
                        #pattern, [#(#views),*], #forward, #grads, (#(#ops.dim(),)*),
                    )
                }
            } else {
                quote! {
                    let (#value, #back) = #rt::vjp::<_, #dim, _, _, _, #n>(
                        #pattern, [#(#views),*], #forward, #grads, #rt::AsIs,
                    );
                    (#value, move |#g: &#rt::Array<_, #dim>| {
                        let (#(#gs,)*) = #back(#g);
                        (#(#rt::into_dim_of(#gs, &#ops),)*)
                    })
                }
            }
        }
    };
    let call = emit_operands(plan, input, &ops, body);
    quote!({
        use ::einsum_runtime::__private as #rt;
        #items
        #call
    })
}

/// One expression per operand, each built with the operand's span (so type errors point at it):
/// `first` for operand 0, and `other(span, i, op)` for the others, which convert operand `i` to operand 0's element type (so a
/// different element type is one error, on that operand, naming both types).
fn typed_like_first(
    input: &Input,
    ops: &[Ident],
    first: impl Fn(Span, &Ident) -> TokenStream,
    other: impl Fn(Span, Literal, &Ident) -> TokenStream,
) -> Vec<TokenStream> {
    (input.operands.iter().zip(ops).enumerate())
        .map(|(i, (e, op))| {
            let span = e.span();
            if i == 0 {
                first(span, op)
            } else {
                other(span, Literal::usize_unsuffixed(i), op)
            }
        })
        .collect()
}

/// An input of a kernel: operand `view` seen through `term`.
fn kernel_input(view: TokenStream, term: &TermPlan) -> kernel::Input {
    kernel::Input {
        array: view,
        slots: term.slots(),
        labels: term.distinct(),
    }
}

/// The generated kernels as functions: `forward` (see [`emit_forward`]), the gradient of each
/// operand (see [`emit_grad`]) and what the mode's caller takes of them: for `einsum!` and
/// `try_einsum!`, the array of every operand's gradient function (a `Var` node calls those of the
/// operands that need a gradient; see [`emit_grad_fns`]); for `einsum_vjp!`, the closure
/// `back(extents, g, operands)` (the runtime's `BackFn`), which calls every gradient function and
/// gives the gradients as a tuple of arrays with static dimension types. Returns the items, the
/// path of `forward`, and the expression of the gradients.
///
/// They are functions rather than closures so that they can be kept out of line: the optimizer then
/// works on each loop nest once, in its own function, instead of again in every caller it would be
/// inlined into (the runtime's `finish`, `vjp` and the `Var` node). A call pays one function call
/// for it. They capture nothing, so being functions costs nothing else. `forward`, and for
/// `einsum_vjp!` the gradients, are the default methods of a trait implemented for one of the
/// runtime's sixteen shard types ([`shard`]), so that rustc places them in that type's codegen
/// unit: the kernels of different calls are then optimized on different cores, where plain
/// functions would all go to the unit of the calls' module (see
/// `einsum_runtime::__private::shard`).
fn emit_kernel_fns(
    plan: &Plan,
    input: &Input,
    dim: &TokenStream,
    mode: Mode,
) -> (TokenStream, TokenStream, TokenStream) {
    let rt = rt();
    let n = plan.inputs.len();
    let labels = plan.labels().len();
    let views = view_locals(n);
    let known = local("known");
    let forward_body = emit_forward(plan, &known, &views);
    let g = local("g");
    let names: Vec<Ident> = plan.labels().into_iter().map(kernel::extent).collect();
    let grad_fns: Vec<Ident> = (0..n).map(|i| local(&format!("grad{i}"))).collect();
    let forward = local("forward");
    let kernels = Ident::new("__EinsumKernels", Span::mixed_site());
    let host = Ident::new("__EinsumShard", Span::mixed_site());
    let forward_path = quote!(<#host as #kernels>::#forward);
    let shard = shard(input);
    let (in_trait, free, grads) = if mode == Mode::Vjp {
        let grad_items = (0..n).map(|i| {
            let grad = plan.grad(i);
            let body = emit_grad(plan, &grad, &views, &g, &forward_path, &quote!(#rt::sum_to));
            let dim = dim_type(grad.target.labels.len());
            let name = &grad_fns[i];
            quote! {
                #[inline(never)]
                fn #name<T: #rt::Float>(
                    [#(#names),*]: [usize; #labels],
                    #g: #rt::Input<'_, T>,
                    [#(#views),*]: [#rt::Input<'_, T>; #n],
                ) -> #rt::Array<T, #dim> {
                    #body
                }
            }
        });
        let (extents, operands) = (local("extents"), local("operands"));
        let back = quote! {
            |#extents, #g, #operands| (#(<#host as #kernels>::#grad_fns(#extents, #g, #operands),)*)
        };
        (quote!(#(#grad_items)*), quote!(), back)
    } else {
        let items = emit_grad_fns(plan, &grad_fns, &names, &views, &g, &forward_path);
        (quote!(), items, quote!([#(#rt::grad_fn(#grad_fns)),*]))
    };
    let items = quote! {
        trait #kernels {
            #[inline(never)]
            fn #forward<T: #rt::LinalgScalar>(
                #known: ::core::option::Option<[usize; #labels]>,
                [#(#views),*]: [#rt::Input<'_, T>; #n],
            ) -> ::core::result::Result<(#rt::Array<T, #dim>, [usize; #labels]), #rt::EinsumError> {
                #forward_body
            }
            #in_trait
        }
        use #rt::shard::#shard as #host;
        impl #kernels for #host {}
        #free
    };
    (unsuffixed(items), forward_path, grads)
}

/// `tokens` with every `usize` literal written without its suffix (`2` for `2usize`, as `quote`
/// writes a `usize`): every place the kernels put one (slots, axes, ranks, array lengths) has the
/// type `usize` already, and the expansion reads as code a person would write (and is shorter).
/// Only for the kernels, which are made from the plan alone: the user's operand expressions keep
/// their literals as written.
fn unsuffixed(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), unsuffixed(g.stream()));
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            TokenTree::Literal(lit) => match lit.to_string().strip_suffix("usize") {
                Some(digits)
                    if digits.bytes().all(|b| b.is_ascii_digit()) && !digits.is_empty() =>
                {
                    let n: usize = digits.parse().expect("a usize literal holds a usize");
                    let mut plain = Literal::usize_unsuffixed(n);
                    plain.set_span(lit.span());
                    TokenTree::Literal(plain)
                }
                _ => TokenTree::Literal(lit),
            },
            other => other,
        })
        .collect()
}

/// `einsum!`'s gradient functions, one per operand, each of the runtime's type `GradFn`:
/// `grad(&extents, &g, &operands, &mut slot)` puts the operand's gradient into `slot` and returns
/// it there.
///
/// A call on arrays never runs them, and they are written so that a build in which no call takes
/// a `Var` spends nothing on them after borrow-checking. An optimized, non-incremental build of a
/// library records in its metadata, for every function of the crate, the parameter attributes that
/// rustc deduces from the function's optimized MIR, unless all its parameters and its result are
/// passed directly (scalars and references); and the metadata stores the optimized MIR of every
/// reachable generic function, which a default method of a trait that the expansion implements is.
/// So these are free functions, taking and returning references, and a failed allocation in them
/// panics (through the runtime's `ok`) instead of returning an `Err`: the `Var` node would panic
/// on it anyway.
fn emit_grad_fns(
    plan: &Plan,
    grad_fns: &[Ident],
    names: &[Ident],
    views: &[Ident],
    g: &Ident,
    forward: &TokenStream,
) -> TokenStream {
    let rt = rt();
    let n = plan.inputs.len();
    let labels = names.len();
    let slot = local("slot");
    let items = grad_fns.iter().enumerate().map(|(i, name)| {
        let grad = plan.grad(i);
        let body = emit_grad(plan, &grad, views, g, forward, &quote!(#rt::sum_to_scalar));
        quote! {
            #[inline(never)]
            fn #name<'o, T: #rt::LinalgScalar>(
                &[#(#names),*]: &[usize; #labels],
                #g: &#rt::Input<'_, T>,
                &[#(#views),*]: &[#rt::Input<'_, T>; #n],
                #slot: &'o mut ::core::option::Option<#rt::ArrayD<T>>,
            ) -> &'o mut #rt::ArrayD<T> {
                let #g = *#g;
                #slot.insert(#rt::Array::into_dyn(#body))
            }
        }
    });
    quote!(#(#items)*)
}

/// The shard type whose codegen unit a call's kernels go to: `S0` to `S15`, from an FNV-1a hash
/// of the call's tokens (pattern and operands), so that the same source always expands the same way
/// and different calls spread over the sixteen units.
fn shard(input: &Input) -> Ident {
    let text = std::iter::once(input.pattern.value())
        .chain(input.operands.iter().map(|e| quote!(#e).to_string()))
        .collect::<Vec<_>>()
        .join(",");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format_ident!("S{}", hash % 16)
}

/// The dimension type of a result of `rank` axes: static up to six (ndarray's `Ix0` to `Ix6`),
/// `IxDyn` beyond, as the generated steps make their results.
fn dim_type(rank: usize) -> TokenStream {
    let rt = rt();
    if rank <= 6 {
        let ix = format_ident!("Ix{}", rank);
        quote!(#rt::#ix)
    } else {
        quote!(#rt::IxDyn)
    }
}

/// The body of `forward(known, [v0, v1, ..]) -> Result<(Array<T, D>, [usize; L]), EinsumError>`
/// (the runtime's `ForwardFn`): the forward kernel, which also returns the extents, for the
/// gradient kernels: `known` or, where that is `None`, those it binds from the operands.
fn emit_forward(plan: &Plan, known: &Ident, views: &[Ident]) -> TokenStream {
    let bound = local("extents");
    let extents = emit_extents(plan, views, known, &bound);
    let inputs: Vec<kernel::Input> = (views.iter().zip(&plan.inputs))
        .map(|(v, t)| kernel_input(quote!(#v), t))
        .collect();
    let result = emit_contraction(&plan.pattern, &inputs, &plan.output.distinct(), Unwrap::Try);
    quote! {
        #extents
        ::core::result::Result::Ok((#result, #bound))
    }
}

/// One operand's gradient: the gradient einsum (the upstream gradient `g` in place of the operand,
/// the output set to the operand's labels that the others provide), then the epilogue that writes
/// it through the operand's own term. When that einsum is the forward one under other names
/// ([`GradPlan::forward_form`]), it is a call of `forward` (the path of the forward kernel) on `g`
/// and the other operands, reordered through the runtime's `Permuted`; otherwise a loop nest of
/// its own, except for a pattern of one operand, whose epilogue reads `g` itself. A block evaluating
/// to the gradient array; the fallible runtime
/// calls in it (allocations, the GEMM) panic with the error's message (the runtime's `ok`): every
/// caller of a gradient kernel would panic on the error anyway. `sum_to` is the path of the
/// runtime's epilogue that sums broadcast axes: `sum_to` where the element type is bounded by
/// `Float` (`einsum_vjp!`), `sum_to_scalar` where it is any `LinalgScalar` (`einsum!`).
fn emit_grad(
    plan: &Plan,
    grad: &GradPlan,
    views: &[Ident],
    g: &Ident,
    forward: &TokenStream,
    sum_to: &TokenStream,
) -> TokenStream {
    let u = Unwrap::Panic;
    let rt = rt();
    let pattern = &plan.pattern;
    let k = (0..plan.inputs.len())
        .find(|i| !grad.sources.contains(i))
        .expect("one operand is the target");
    let vk = &views[k];
    let r = local("r");
    let sum = u.apply(quote!(#sum_to(#pattern, &mut #r, #vk.shape())));
    if let Some(form) = grad.forward_form(plan) {
        // The forward kernel, on `g` and the other operands, each reordered into the forward term
        // it fills (as it is where it keeps its order), with the extents this kernel has
        // under the forward labels' names: the forward kernel skips binding them (its views still
        // check every operand against them, and an axis of 1 under a longer label broadcasts).
        let mut renamed: Vec<(char, char)> = Vec::new();
        for (s, labels) in form.labels.iter().enumerate() {
            renamed.extend(plan.inputs[s].chars().zip(labels.iter().copied()));
        }
        let known = plan.labels().into_iter().map(|l| {
            let (_, ours) = renamed
                .iter()
                .find(|(theirs, _)| *theirs == l)
                .expect("every forward label is an input's");
            kernel::extent(*ours)
        });
        let (mut lets, mut args) = (Vec::new(), Vec::new());
        for (s, (&j, labels)) in form.fills.iter().zip(&form.labels).enumerate() {
            let term: Vec<char> = grad.inputs[j].chars().collect();
            let source = if j == 0 {
                g
            } else {
                &views[grad.sources[j - 1]]
            };
            if *labels == term {
                args.push(quote!(#source));
                continue;
            }
            let axes = labels.iter().map(|l| {
                term.iter()
                    .position(|c| c == l)
                    .expect("a renamed label is the input's")
            });
            let p = local(&format!("p{s}"));
            lets.push(quote!(let #p = #rt::Permuted::new(#source, [#(#axes),*]);));
            args.push(quote!(#p.input()));
        }
        let known = quote!(::core::option::Option::Some([#(#known),*]));
        let value = u.apply(quote!(#forward(#known, [#(#args),*])));
        return quote!({
            #(#lets)*
            let (mut #r, _) = #value;
            #sum;
            #r
        });
    }
    let own = grad.target.distinct();
    let rank = grad.target.labels.len();
    let shape = if rank <= 6 {
        quote!(#rt::fixed_shape::<#rank>(#vk.shape()))
    } else {
        quote!(#rt::IxDyn(#vk.shape()))
    };
    let out = local("grad");
    let zeros = u.apply(quote!(#rt::zeros(#pattern, #shape)));
    if grad.sources.is_empty() {
        // One operand: its gradient einsum only reorders `g` (whose labels, an output's, are
        // distinct), so the epilogue reads `g` where it is instead of a copy of it.
        let epilogue = kernel::emit_epilogue(g, &grad.inputs[0].distinct(), &grad.target, &own);
        return quote!({
            let mut #out = #zeros;
            #epilogue
            #out
        });
    }
    let mut inputs = vec![kernel_input(quote!(#g), &grad.inputs[0])];
    inputs.extend((grad.sources.iter().zip(&grad.inputs[1..])).map(|(&i, t)| {
        let v = &views[i];
        kernel_input(quote!(#v), t)
    }));
    let provided = grad.output.distinct();
    let reduced = emit_contraction(pattern, &inputs, &provided, u);

    // Epilogue: add `r` into a zeroed gradient through the operand's term: labels `r` lacks are
    // broadcast, a repeated label writes only the diagonal, an axis of extent 1 under a longer label
    // sums (its stride is 0). When `r` already has the operand's labels, in order, only that last
    // case remains, which the runtime's `sum_to` handles (returning `r` itself when nothing was
    // broadcast).
    if own == provided && own.len() == rank {
        return quote!({
            let mut #r = #reduced;
            #sum;
            #r
        });
    }
    let epilogue = kernel::emit_epilogue(&r, &provided, &grad.target, &own);
    quote!({
        let #r = #reduced;
        let mut #out = #zeros;
        #epilogue
        #out
    })
}

/// The run-time executor's path (patterns with `...`, or many operands): the plan as constants that
/// the executor interprets.
fn emit_executor(plan: &Plan, mode: Mode) -> (TokenStream, TokenStream, TokenStream) {
    let rt = rt();
    let n = plan.inputs.len();
    let constant = |name: &str| Ident::new(name, proc_macro2::Span::mixed_site());
    let (spec, grads) = (constant("__EINSUM_SPEC"), constant("__EINSUM_GRADS"));
    let pattern = &plan.pattern;
    let inputs = plan.inputs.iter().map(emit_term);
    let output = emit_term(&plan.output);
    let grad_specs = (0..n).map(|k| emit_grad_spec(&plan.grad(k)));
    let items = quote! {
        const #spec: #rt::Spec = #rt::Spec {
            pattern: #pattern,
            inputs: &[#(#inputs),*],
            output: #output,
        };
        const #grads: [#rt::GradSpec; #n] = [#(#grad_specs),*];
    };
    let (views, g) = (local("views"), local("g"));
    // `Exec` picks the executor compiled in the runtime for f32 and f64 (see its docs).
    let forward = quote!(|_, #views| {
        use #rt::{Generic as _, Precompiled as _};
        (&#rt::Exec::of(&#views)).run_forward(&#spec, #views)
    });
    let backward = if mode == Mode::Vjp {
        // Every operand's gradient, as the tuple `einsum_vjp!`'s closure unpacks.
        let each = (0..n).map(|i| {
            quote!(#rt::ok((&#rt::Exec::of(&#views)).run_gradient(&#spec, &#grads[#i], (), #g, #views)),)
        });
        quote!(|(), #g, #views| {
            use #rt::{Generic as _, Precompiled as _};
            (#(#each)*)
        })
    } else {
        // One function per operand (the runtime's `GradFn`), as the generated path has.
        let slot = local("slot");
        let each = (0..n).map(|i| {
            quote!(#rt::grad_fn(|&(), &#g, &#views, #slot| {
                use #rt::{Generic as _, Precompiled as _};
                let #views: [_; #n] = #views;
                #slot.insert(#rt::ok(
                    (&#rt::Exec::of(&#views)).run_gradient(&#spec, &#grads[#i], (), #g, #views),
                ))
            }))
        });
        quote!([#(#each),*])
    };
    (items, forward, backward)
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

fn emit_grad_spec(grad: &GradPlan) -> TokenStream {
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
