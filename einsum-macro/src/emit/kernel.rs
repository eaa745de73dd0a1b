//! Kernels: a [`Contraction`] turned into loops and GEMM calls.
//!
//! The emitted block evaluates to the contraction's result (a fresh row-major array); it unwraps the
//! runtime's fallible calls as its [`Unwrap`] says (with `?`, it must sit in a function returning
//! `Result<_, EinsumError>`). The extents of every
//! label are bound (as `n_ident`) before it.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::rt;
use crate::plan::TermPlan;
use crate::schedule::{plan_contraction, Contraction, Groups, Order, Step, TensorId};

/// An input of a contraction: an array or view expression, the slot of each of its axes, and its
/// distinct labels (slot order).
pub struct Input {
    pub array: TokenStream,
    pub slots: Vec<usize>,
    pub labels: Vec<char>,
}

/// A generated local: hygienic (mixed-site) and prefixed, so it never meets a user's name.
pub fn local(name: &str) -> Ident {
    Ident::new(&format!("__einsum_{name}"), Span::mixed_site())
}

/// A label as part of an identifier: `i` for `i`, `up_i` for `I` (locals stay snake case).
fn label_name(l: char) -> String {
    if l.is_ascii_uppercase() {
        format!("up_{}", l.to_ascii_lowercase())
    } else {
        l.to_string()
    }
}

/// The local holding label `l`'s extent.
pub fn extent(l: char) -> Ident {
    local(&format!("n_{}", label_name(l)))
}

/// The loop index of label `l`.
fn index(l: char) -> Ident {
    local(&format!("i_{}", label_name(l)))
}

fn view(t: TensorId) -> Ident {
    local(&format!("x{t}"))
}

fn array(t: TensorId) -> Ident {
    local(&format!("a{t}"))
}

fn extents(labels: &[char]) -> TokenStream {
    let n = labels.iter().map(|&l| extent(l));
    quote!([#(#n),*])
}

/// How generated code unwraps the runtime's fallible calls (allocations, the GEMM).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unwrap {
    /// An early return of the error, in a function that returns `Result<_, EinsumError>` (the
    /// forward kernels); see [`try_value`].
    Try,
    /// The runtime's `ok`, which panics with the error's message: in the gradient kernels, whose
    /// errors would end in that panic anyway (see `emit_grad`).
    Panic,
}

impl Unwrap {
    /// `call`'s value.
    pub fn apply(self, call: TokenStream) -> TokenStream {
        let rt = rt();
        match self {
            Unwrap::Try => try_value(call),
            Unwrap::Panic => quote!(#rt::ok(#call)),
        }
    }
}

/// `call`'s value, or a return of its error: what `call?` does, written as the `match` it means.
///
/// `?` goes through the `Try` and `FromResidual` traits (and `From` for the error), which the type
/// checker resolves and the borrow checker checks at every use; the plain `match` needs neither.
/// Over the 50 `einsum!` calls of `scripts/compile_time.py`'s probe that is about 0.01 s less type
/// checking and 0.01 s less borrow checking (`scripts/expansion_experiment.py probe1_einsum
/// no-question-mark` on 0bbefeb), too little to show in a rebuild's
/// wall time (docs/benchmarks.md, section 2). The error types are the same: nothing is converted.
pub fn try_value(call: TokenStream) -> TokenStream {
    let (v, e) = (local("ok"), local("err"));
    quote! {
        match #call {
            ::core::result::Result::Ok(#v) => #v,
            ::core::result::Result::Err(#e) => return ::core::result::Result::Err(#e),
        }
    }
}

/// `out = einsum(inputs)`, a block evaluating to the result array.
pub fn emit_contraction(pattern: &str, inputs: &[Input], out: &[char], u: Unwrap) -> TokenStream {
    let rt = rt();
    let labels: Vec<Vec<char>> = inputs.iter().map(|i| i.labels.clone()).collect();
    let c = plan_contraction(&labels, out);
    let views = inputs.iter().enumerate().map(|(t, input)| {
        let (x, a) = (view(t), &input.array);
        let slots = &input.slots;
        let dims = extents(&input.labels);
        quote!(let #x = #rt::View::new(&#a, [#(#slots),*], #dims);)
    });
    let reductions = c
        .reductions
        .iter()
        .map(|s| emit_bound_step(pattern, &c, s, u));
    let body = match c.orders.as_slice() {
        [only] => emit_order(pattern, &c, only, u),
        orders => {
            let costs = orders.iter().map(|o| {
                let terms = o.costs.iter().map(|labels| {
                    let n = labels.iter().map(|&l| extent(l));
                    quote!((1.0 #(* #n as f64)*))
                });
                quote!(#(#terms)+*)
            });
            let arms = orders.iter().enumerate().map(|(k, o)| {
                let body = emit_order(pattern, &c, o, u);
                if k + 1 == orders.len() {
                    quote!(_ => #body)
                } else {
                    quote!(#k => #body)
                }
            });
            quote! {
                // Every pairwise order, with its cost (the index volume it loops over); the cheapest
                // for these extents runs.
                match #rt::cheapest(&[#(#costs),*]) {
                    #(#arms)*
                }
            }
        }
    };
    quote! {{
        #(#views)*
        #(#reductions)*
        #body
    }}
}

/// The steps of one order; the last one's array is the result.
fn emit_order(pattern: &str, c: &Contraction, order: &Order, u: Unwrap) -> TokenStream {
    let (last, steps) = order.steps.split_last().expect("an order has a step");
    let steps = steps.iter().map(|s| emit_bound_step(pattern, c, s, u));
    let result = emit_step(pattern, c, last, u);
    quote!({
        #(#steps)*
        #result
    })
}

/// A step whose result later steps read: the new array, and a view of it.
fn emit_bound_step(pattern: &str, c: &Contraction, s: &Step, u: Unwrap) -> TokenStream {
    let rt = rt();
    let (a, x) = (array(s.out), view(s.out));
    let fill = emit_step(pattern, c, s, u);
    let labels = &c.tensors[s.out];
    let slots = 0..labels.len();
    let dims = extents(labels);
    quote! {
        let #a = #fill;
        let #x = #rt::View::new(&#a, [#(#slots),*], #dims);
    }
}

/// One step: an expression for a new array filled by the step's loops (or, when the runtime finds
/// the step large enough, by its GEMM).
fn emit_step(pattern: &str, c: &Contraction, s: &Step, u: Unwrap) -> TokenStream {
    let rt = rt();
    let out_labels = &c.tensors[s.out];
    let dst = local("dst");
    let dims = extents(out_labels);
    // A step that sums nothing and loops over its output's labels in order visits every element of
    // the new row-major array once, in memory order: it appends them instead of accumulating into
    // zeros.
    if s.gemm.is_none() && s.tile.is_none() && s.loops == *out_labels && out_labels.len() <= 6 {
        let mut loops = emit_loops(c, s, &dst, Write::Append);
        // When every input has the output's labels in its order (an elementwise product, a copy),
        // contiguous row-major inputs are one lane each: the whole step is one runtime call.
        let same = s.inputs.iter().all(|&t| c.tensors[t] == *out_labels);
        if same && out_labels.len() >= 2 {
            loops = flat_or(s, loops, |lanes| match lanes {
                [a] => quote!(#rt::push(#dst, #a)),
                [a, b] => quote!(#rt::push_mul(#dst, #a, #b)),
                _ => unreachable!("an appending step has one or two inputs"),
            });
        }
        let data = local("data");
        let buffer = u.apply(quote!(#rt::buffer(#pattern, #dims)));
        return quote! {{
            let mut #data = #buffer;
            {
                let #dst = &mut #data;
                #loops
            }
            #rt::shaped(#dims, #data)
        }};
    }
    // A tiled step that only permutes its one input (a transpose, or any permuting copy: no label
    // summed, none broadcast) writes each element once, in the runtime's blocked copy, instead of
    // adding into zeros (which reads the result as well as writing it, after zeroing it).
    if let (Some(_), None, [t]) = (s.tile, &s.gemm, s.inputs.as_slice()) {
        let input = &c.tensors[*t];
        let permutes = input.len() == out_labels.len()
            && out_labels.iter().all(|l| input.contains(l))
            && out_labels.len() <= 6;
        if permutes {
            let x = view(*t);
            let order = out_labels.iter().map(|l| {
                input
                    .iter()
                    .position(|m| m == l)
                    .expect("a permuted label is the input's")
            });
            return u.apply(quote!(#rt::permute(#pattern, &#x, [#(#order),*])));
        }
    }
    let mut loops = emit_loops(c, s, &dst, Write::Accumulate);
    // A step that sums everything (`ij->`, `ij,ij->`) of inputs that all have its loops' labels in
    // that order: contiguous row-major inputs are one lane each, reduced in one runtime call instead
    // of one call per row.
    let flat = out_labels.is_empty()
        && s.gemm.is_none()
        && s.tile.is_none()
        && s.loops.len() >= 2
        && s.inputs.iter().all(|&t| c.tensors[t] == s.loops);
    if flat {
        let n = s.loops.iter().map(|&l| extent(l));
        let sink = quote!(#dst.splat([], 1 #(* #n)*));
        loops = flat_or(s, loops, |lanes| match lanes {
            [a] => quote!(#rt::add(#sink, #a)),
            [a, b] => quote!(#rt::mul_add(#sink, #a, #b)),
            _ => unreachable!("a step has one or two inputs"),
        });
    }
    // Up to six axes, the result has a static dimension type; beyond, a dynamic one.
    let shape = if out_labels.len() <= 6 {
        dims.clone()
    } else {
        quote!(&#dims[..])
    };
    let out = local("out");
    let fill = quote! {{
        let #dst = &mut #rt::whole(&mut #out, #dims);
        #loops
    }};
    // A GEMM-shaped step: the runtime's GEMM writes the new array once when the step is large enough
    // (and of a type its kernels take), else it hands back zeros for the loops to add into.
    match &s.gemm {
        Some(groups) => {
            let gemm = emit_gemm(pattern, c, s, groups, &dims);
            let (written, zeroed) = (quote!(#rt::Product::Written), quote!(#rt::Product::Zeroed));
            match u {
                // The error arm beside the two products, rather than a `match` in a `match`.
                Unwrap::Try => {
                    let err = local("err");
                    quote! {
                        match #gemm {
                            ::core::result::Result::Ok(#written(#out)) => #out,
                            ::core::result::Result::Ok(#zeroed(mut #out)) => {
                                #fill
                                #out
                            }
                            ::core::result::Result::Err(#err) => {
                                return ::core::result::Result::Err(#err)
                            }
                        }
                    }
                }
                Unwrap::Panic => {
                    let gemm = u.apply(gemm);
                    quote! {
                        match #gemm {
                            #written(#out) => #out,
                            #zeroed(mut #out) => {
                                #fill
                                #out
                            }
                        }
                    }
                }
            }
        }
        None => {
            let zeros = u.apply(quote!(#rt::zeros(#pattern, #shape)));
            quote! {{
                let mut #out = #zeros;
                #fill
                #out
            }}
        }
    }
}

/// `loops`, or, when every input of `s` is contiguous in row-major order (the runtime's
/// `View::flat`), the one runtime call that `call` writes on the inputs' whole lanes.
fn flat_or(
    s: &Step,
    loops: TokenStream,
    call: impl FnOnce(&[Ident]) -> TokenStream,
) -> TokenStream {
    let (xs, lanes): (Vec<_>, Vec<_>) = s
        .inputs
        .iter()
        .enumerate()
        .map(|(k, &t)| (view(t), local(&format!("flat{k}"))))
        .unzip();
    let call = call(&lanes);
    quote! {
        if let (#(::core::option::Option::Some(#lanes),)*) = (#(#xs.flat(),)*) {
            #call;
        } else {
            #loops
        }
    }
}

/// A gradient's epilogue: `grad` (a zeroed array shaped like the operand, in scope) += `r` (labels
/// `provided`) written through the operand's `term`, whose distinct labels are `own`: every label of
/// `own` is a loop, so labels `r` lacks broadcast, a repeated label is one diagonal slot, and an axis
/// of extent 1 under a longer label (stride 0) sums.
pub fn emit_epilogue(r: &Ident, provided: &[char], term: &TermPlan, own: &[char]) -> TokenStream {
    let rt = rt();
    let c = Contraction {
        tensors: vec![provided.to_vec(), own.to_vec()],
        reductions: Vec::new(),
        orders: Vec::new(),
        enumerated: 0,
    };
    let step = Step {
        inputs: vec![0],
        out: 1,
        loops: own.to_vec(),
        gemm: None,
        tile: None,
    };
    let (y, x, grad) = (local("dst"), view(0), local("grad"));
    let slots = term.slots();
    let dims = extents(own);
    let r_slots = 0..provided.len();
    let r_dims = extents(provided);
    let loops = emit_loops(&c, &step, &y, Write::Accumulate);
    quote! {{
        let #x = #rt::View::new(&#r, [#(#r_slots),*], #r_dims);
        let mut #y = #rt::ViewMut::new(&mut #grad, [#(#slots),*], #dims);
        #loops
    }}
}

/// How the innermost lanes reach the step's result `y`.
#[derive(Clone, Copy, PartialEq)]
enum Write {
    /// `y` is a writable view; each lane is added into it (`mul_add`, `add`).
    Accumulate,
    /// `y` is the result's `Vec`; each lane is appended to it (`push_mul`, `push`).
    Append,
}

/// The loop nest of a step: a `for` per label but the innermost, whose lanes the primitive runs. A
/// tiled step (a copy whose input is contiguous along another label than the result) leaves its
/// innermost label and that one to the runtime, as a plane.
fn emit_loops(c: &Contraction, s: &Step, y: &Ident, write: Write) -> TokenStream {
    let rt = rt();
    let (outer, inner) = match s.loops.split_last() {
        Some((&inner, outer)) => (outer, Some(inner)),
        None => (&[][..], None),
    };
    // A tiled copy (a transpose, or any permuting copy) runs its two innermost loops, over the tile
    // label and the innermost one, as one plane in the runtime, which walks it in cache blocks.
    if let (Some(q), Some(p), Write::Accumulate, [t]) = (s.tile, inner, write, s.inputs.as_slice())
    {
        let plane = |t: TensorId, target: TokenStream| {
            let labels = &c.tensors[t];
            let idx = labels.iter().map(|&l| match l == p || l == q {
                true => quote!(0),
                false => {
                    let i = index(l);
                    quote!(#i)
                }
            });
            let axis = |l: char| {
                labels
                    .iter()
                    .position(|&m| m == l)
                    .expect("a tiled step's tensors have both of its labels")
            };
            let (ap, aq) = (axis(p), axis(q));
            quote!(#target.plane([#(#idx),*], [#ap, #aq]))
        };
        let (dst, x) = (
            plane(s.out, quote!(#y)),
            plane(*t, {
                let x = view(*t);
                quote!(#x)
            }),
        );
        let mut body = quote!(#rt::add_plane(#dst, #x););
        for &l in outer.iter().rev().filter(|&&l| l != q) {
            let (i, n) = (index(l), extent(l));
            body = quote! {
                for #i in 0..#n {
                    #body
                }
            };
        }
        return body;
    }
    let len = match inner {
        Some(l) => {
            let n = extent(l);
            quote!(#n)
        }
        None => quote!(1),
    };
    // A tensor with the innermost label gives the lane along it; one without gives its element at
    // the current index, repeated.
    let lane = |t: TensorId, target: TokenStream| {
        let labels = &c.tensors[t];
        let idx = labels.iter().map(|&l| {
            if Some(l) != inner {
                let i = index(l);
                quote!(#i)
            } else {
                quote!(0)
            }
        });
        match inner.and_then(|l| labels.iter().position(|&m| m == l)) {
            Some(axis) => quote!(#target.lane([#(#idx),*], #axis)),
            None => quote!(#target.splat([#(#idx),*], #len)),
        }
    };
    let dst = lane(s.out, quote!(#y));
    let srcs: Vec<TokenStream> = s
        .inputs
        .iter()
        .map(|&t| {
            let x = view(t);
            lane(t, quote!(#x))
        })
        .collect();
    let mut body = match (write, srcs.as_slice()) {
        (Write::Accumulate, [a]) => quote!(#rt::add(#dst, #a);),
        (Write::Accumulate, [a, b]) => quote!(#rt::mul_add(#dst, #a, #b);),
        (Write::Append, [a]) => quote!(#rt::push(#y, #a);),
        (Write::Append, [a, b]) => quote!(#rt::push_mul(#y, #a, #b);),
        _ => unreachable!("a step has one or two inputs"),
    };
    let wrap = |body: TokenStream, l: char| {
        let (i, n) = (index(l), extent(l));
        quote! {
            for #i in 0..#n {
                #body
            }
        }
    };
    assert!(
        s.tile.is_none(),
        "only single-input steps are tiled, and they are planes"
    );
    for &l in outer.iter().rev() {
        body = wrap(body, l);
    }
    body
}

/// The GEMM call of a pairwise step, with its static grouping: a `Result<Product<Array>>`
/// expression, `Product::Zeroed` (zeros, for the loops) when the step is too small for a GEMM to
/// pay.
fn emit_gemm(
    pattern: &str,
    c: &Contraction,
    s: &Step,
    g: &Groups,
    dims: &TokenStream,
) -> TokenStream {
    let rt = rt();
    let slots = |t: TensorId, groups: [&[char]; 3]| {
        let labels = &c.tensors[t];
        let each = groups.iter().map(|group| {
            let pos = group.iter().map(|l| {
                labels
                    .iter()
                    .position(|m| m == l)
                    .expect("a group's labels are the tensor's")
            });
            quote!(&[#(#pos),*])
        });
        quote!([#(#each),*])
    };
    let (ta, tb) = (s.inputs[0], s.inputs[1]);
    let a = slots(ta, [&g.batch, &g.left, &g.summed]);
    let b = slots(tb, [&g.batch, &g.summed, &g.right]);
    let out = slots(s.out, [&g.batch, &g.left, &g.right]);
    let (xa, xb) = (view(ta), view(tb));
    let ranks = [ta, tb, s.out].map(|t| c.tensors[t].len());
    // A `const` block: `Gemm::new` checks the grouping at compile time; passed by reference to a
    // promoted constant, not copied onto the stack at each call.
    quote! {
        #rt::gemm(
            #pattern,
            #dims,
            &#xa,
            &#xb,
            &const { #rt::Gemm::new([#(#ranks),*], #a, #b, #out) },
        )
    }
}
