//! Rules that need the whole pattern (or the operands) in view. Simpler rules live in the parser.
//!
//! Every check reports through `syn::Error`, the one error type of the macro crate: problems in the
//! pattern's text become errors on the pattern literal, with the text and a caret under the culprit
//! ([`problems_error`]); problems with the operands become errors on the operand concerned.

use syn::spanned::Spanned;

use crate::input::Input;
use crate::pattern::{Pattern, Problem, Term};

/// The rules of a parsed pattern, as one error on the pattern literal listing every problem.
pub fn check_pattern(input: &Input, text: &str, pattern: &Pattern) -> syn::Result<()> {
    match problems_error(input, text, pattern_problems(pattern)) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// One error for all the `problems` of the pattern `text`, each on the pattern literal (`None` when
/// there are none). Parse problems are reported through it as well.
pub fn problems_error(input: &Input, text: &str, problems: Vec<Problem>) -> Option<syn::Error> {
    problems
        .into_iter()
        .map(|p| syn::Error::new(input.pattern.span(), p.render(text)))
        .reduce(|mut all, e| {
            all.combine(e);
            all
        })
}

/// Collects the problems of a parsed pattern. The operand count is checked by
/// [`check_operand_count`], whose diagnostics point at an argument rather than at a character of the
/// pattern.
pub fn pattern_problems(pattern: &Pattern) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(output) = &pattern.output {
        check_output_labels_exist(&pattern.inputs, output, &mut problems);
        check_output_labels_unique(output, &mut problems);
    }
    problems
}

/// Every term needs exactly one operand. An extra operand is reported on the operand itself; a
/// missing one on the last argument (the place where it should follow).
pub fn check_operand_count(pattern: &Pattern, input: &Input) -> syn::Result<()> {
    let terms = pattern.inputs.len();
    let given = input.operands.len();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if given > terms {
        let mut errors = input.operands[terms..].iter().map(|extra| {
            syn::Error::new(
                extra.span(),
                format!(
                    "einsum pattern `{}` has {} but {} given: this operand has no term",
                    input.pattern.value(),
                    plural(terms, "term"),
                    plural(given, "operand") + if given == 1 { " was" } else { " were" },
                ),
            )
        });
        let mut first = errors.next().expect("at least one extra operand");
        errors.for_each(|e| first.combine(e));
        return Err(first);
    }
    if given < terms {
        let missing: Vec<String> = pattern.inputs[given..]
            .iter()
            .map(|t| format!("`{}`", t.spelling()))
            .collect();
        let span = input
            .operands
            .last()
            .map_or_else(|| input.pattern.span(), Spanned::span);
        return Err(syn::Error::new(
            span,
            format!(
                "einsum pattern `{}` has {} but {} given: missing the operand for term {}",
                input.pattern.value(),
                plural(terms, "term"),
                plural(given, "operand") + if given == 1 { " was" } else { " were" },
                missing.join(", "),
            ),
        ));
    }
    Ok(())
}

/// An output label must come from some operand: there is nothing else to give it an extent.
fn check_output_labels_exist(inputs: &[Term], output: &Term, problems: &mut Vec<Problem>) {
    for label in &output.labels {
        if !inputs.iter().any(|t| t.has(label.ch)) {
            problems.push(Problem::at(
                label.pos,
                format!(
                    "label `{}` appears in the output but in no operand",
                    label.ch
                ),
            ));
        }
    }
}

/// A label repeated in the output would ask for a diagonal *output*, which numpy rejects too.
fn check_output_labels_unique(output: &Term, problems: &mut Vec<Problem>) {
    for (i, label) in output.labels.iter().enumerate() {
        if output.labels[..i].iter().any(|l| l.ch == label.ch) {
            problems.push(Problem::at(
                label.pos,
                format!("label `{}` appears more than once in the output", label.ch),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::parse_pattern;

    fn positions(text: &str) -> Vec<usize> {
        pattern_problems(&parse_pattern(text).unwrap())
            .iter()
            .map(|p| p.pos.unwrap())
            .collect()
    }

    #[test]
    fn finds_missing_and_repeated_output_labels() {
        assert_eq!(positions("ij,jk->ik"), Vec::<usize>::new());
        assert_eq!(positions("ij,jk->iz"), vec![8]);
        assert_eq!(positions("ij,jk->ii"), vec![8]);
        assert_eq!(positions("ij->zii"), vec![4, 6]);
    }
}
