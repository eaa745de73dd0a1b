//! The contract between the code the macros generate and the runtime: the one label encoding, and the
//! compile-time descriptions of patterns that the run-time executor interprets.
//!
//! The macro crate cannot depend on this crate (this crate depends on it), so `einsum-macro`'s
//! `plan.rs` restates the encoding below; nothing else in either crate does.

/// A label id: `A..Z` are 0..26 and `a..z` are 26..52, so sorting ids sorts by character code, as
/// numpy does for the implicit output. Ellipsis dimension `d` (counted from the left of the longest
/// ellipsis) is `ELLIPSIS + d`, assigned at run time once ranks are known.
pub type Label = u16;

/// The id of the first ellipsis dimension.
pub const ELLIPSIS: Label = 52;

/// How a label is named in messages: its letter, or `... dimension d`.
pub fn label_name(label: Label) -> String {
    match label {
        0..=25 => char::from(b'A' + label as u8).to_string(),
        26..=51 => char::from(b'a' + (label - 26) as u8).to_string(),
        _ => format!("... dimension {}", label - ELLIPSIS),
    }
}

/// One term of a pattern, planned at compile time: label ids and the number of labels before the
/// `...`, if the term has one.
#[derive(Debug, Clone, Copy)]
pub struct Term {
    /// The term's labels, in order, without the ellipsis.
    pub labels: &'static [Label],
    /// The number of labels before the `...`, if the term has one.
    pub ellipsis: Option<usize>,
    /// The term as written (`ij`, `...k`), for messages.
    pub spelling: &'static str,
}

/// A forward einsum planned at compile time, for the run-time executor.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The pattern as written, for messages.
    pub pattern: &'static str,
    /// One term per operand.
    pub inputs: &'static [Term],
    /// The output term (made explicit when the pattern's output is implicit).
    pub output: Term,
}

/// The einsum giving one operand's gradient, planned at compile time: `inputs[0]` is the upstream
/// gradient (with the output's term), `inputs[i + 1]` is operand `sources[i]`; `output` holds the
/// operand's labels that those inputs provide, and `target` is the operand's own term, through which
/// the epilogue writes the result.
#[derive(Debug, Clone, Copy)]
pub struct GradSpec {
    /// The gradient einsum's terms: the upstream gradient's first, then the other operands'.
    pub inputs: &'static [Term],
    /// The operand each of `inputs[1..]` is.
    pub sources: &'static [usize],
    /// The gradient einsum's output: the target's labels that `inputs` provide.
    pub output: Term,
    /// The operand's own term.
    pub target: Term,
}

impl GradSpec {
    /// The index of the operand this gradient is for: the one missing from `sources`.
    pub(crate) fn target_operand(&self) -> usize {
        (0..)
            .find(|i| !self.sources.contains(i))
            .expect("some index is missing")
    }
}
