//! Property tests of parse -> check -> plan against a reference written here from DESIGN.md ("Pattern
//! language", "What is a compile error"). The reference shares no code with `pattern`, `check` or
//! `plan`: it reads a pattern by splitting strings, where the parser runs a character state machine.
//!
//! Seeds are random (set `PROPTEST_RNG_SEED` to replay one); failing cases are shrunk and printed but
//! not persisted to a regressions file.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::check::pattern_problems;
use crate::pattern::parse_pattern;
use crate::plan::{Plan, TermPlan};

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------------
// The reference grammar.

/// One term as the reference reads it: its labels in order, and how many labels precede its `...`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RefTerm {
    labels: Vec<char>,
    ellipsis: Option<usize>,
}

impl RefTerm {
    fn spelling(&self) -> String {
        let mut out = String::new();
        for i in 0..=self.labels.len() {
            if self.ellipsis == Some(i) {
                out += "...";
            }
            if let Some(&c) = self.labels.get(i) {
                out.push(c);
            }
        }
        out
    }

    /// Label ids as DESIGN/plan define them: `A..Z` are 0..26, `a..z` are 26..52.
    fn ids(&self) -> Vec<u16> {
        self.labels
            .iter()
            .map(|&c| {
                let code = c as u16;
                if c.is_ascii_uppercase() {
                    code - u16::from(b'A')
                } else {
                    26 + code - u16::from(b'a')
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RefPattern {
    inputs: Vec<RefTerm>,
    output: Option<RefTerm>,
}

/// `Some` iff `text` is a pattern that both the grammar and the checker's rules accept.
fn reference(text: &str) -> Option<RefPattern> {
    // Only labels, spaces, commas, dots and the two arrow characters exist in the language.
    if !text
        .chars()
        .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | ',' | '.' | '-' | '>'))
    {
        return None;
    }
    // The arrow is exactly `->`: cut on it, and no stray `-` or `>` may be left over.
    let parts: Vec<&str> = text.split("->").collect();
    if parts.len() > 2 || parts.iter().any(|p| p.contains('-') || p.contains('>')) {
        return None;
    }
    let inputs = parts[0]
        .split(',')
        .map(reference_term)
        .collect::<Option<Vec<_>>>()?;
    let output = match parts.get(1) {
        None => None,
        Some(out) if out.contains(',') => return None,
        Some(out) => Some(reference_term(out)?),
    };
    if let Some(out) = &output {
        for (i, c) in out.labels.iter().enumerate() {
            let repeated = out.labels[..i].contains(c);
            let unknown = !inputs.iter().any(|t| t.labels.contains(c));
            if repeated || unknown {
                return None;
            }
        }
    }
    Some(RefPattern { inputs, output })
}

/// One comma-free, arrow-free piece: labels, spaces, and at most one run of exactly three dots.
fn reference_term(text: &str) -> Option<RefTerm> {
    let mut labels = Vec::new();
    let mut ellipsis = None;
    let mut dots = 0;
    // A trailing sentinel closes a final run of dots.
    for c in text.chars().chain(std::iter::once(' ')) {
        if c == '.' {
            dots += 1;
            continue;
        }
        if dots > 0 {
            if dots != 3 || ellipsis.is_some() {
                return None;
            }
            ellipsis = Some(labels.len());
            dots = 0;
        }
        if c.is_ascii_alphabetic() {
            labels.push(c);
        }
    }
    Some(RefTerm { labels, ellipsis })
}

/// numpy's implicit output: labels that occur exactly once over all inputs, by character code
/// (ASCII puts upper case first), with `...` first when any input has one.
fn reference_implicit_output(inputs: &[RefTerm]) -> RefTerm {
    let all: Vec<char> = inputs
        .iter()
        .flat_map(|t| t.labels.iter().copied())
        .collect();
    let mut labels: Vec<char> = all
        .iter()
        .copied()
        .filter(|c| all.iter().filter(|d| *d == c).count() == 1)
        .collect();
    labels.sort_unstable();
    let ellipsis = inputs.iter().any(|t| t.ellipsis.is_some()).then_some(0);
    RefTerm { labels, ellipsis }
}

fn reference_output(p: &RefPattern) -> RefTerm {
    p.output
        .clone()
        .unwrap_or_else(|| reference_implicit_output(&p.inputs))
}

/// The gradient einsum's output for operand `k`: `k`'s distinct labels in first-appearance order that
/// the output or another input has; `...` kept (after the kept labels first seen before it) when `k`
/// has one and so does the output or another input.
fn reference_grad_output(p: &RefPattern, k: usize) -> RefTerm {
    let output = reference_output(p);
    let others: Vec<&RefTerm> = std::iter::once(&output)
        .chain(
            p.inputs
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != k)
                .map(|(_, t)| t),
        )
        .collect();
    let target = &p.inputs[k];
    let mut labels: Vec<char> = Vec::new();
    let mut ellipsis = None;
    let others_have_ellipsis = others.iter().any(|t| t.ellipsis.is_some());
    for (i, c) in target.labels.iter().enumerate() {
        if target.ellipsis == Some(i) && others_have_ellipsis {
            ellipsis = Some(labels.len());
        }
        if !labels.contains(c) && others.iter().any(|t| t.labels.contains(c)) {
            labels.push(*c);
        }
    }
    if target.ellipsis == Some(target.labels.len()) && others_have_ellipsis {
        ellipsis = Some(labels.len());
    }
    RefTerm { labels, ellipsis }
}

fn assert_term(got: &TermPlan, want: &RefTerm, what: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(&got.spelling, &want.spelling(), "{} spelling", what);
    prop_assert_eq!(&got.labels, &want.ids(), "{} label ids", what);
    prop_assert_eq!(got.ellipsis, want.ellipsis, "{} ellipsis", what);
    Ok(())
}

#[test]
fn reference_grammar_on_known_cases() {
    for ok in [
        "ij,jk->ik",
        " i j , j k -> i k ",
        "...ij,...jk->...ik",
        "i...j",
        "ii->",
        ",->",
        "",
        "Ab,bC",
        "ij->...",
    ] {
        assert!(reference(ok).is_some(), "{ok:?}");
    }
    for bad in [
        "ij,j!->ik",
        "ij->i->j",
        "ij-k",
        "ij>k",
        "- >",
        "-->",
        "->>",
        "..ij",
        "i....",
        "...i...",
        ". ..",
        "......",
        "ij->i,j",
        "ij,jk->iz",
        "ij->ii",
        "i\tj",
    ] {
        assert!(reference(bad).is_none(), "{bad:?}");
    }
    let p = reference("ba,Bcb...").unwrap();
    assert_eq!(reference_implicit_output(&p.inputs).spelling(), "...Bac");
}

// ---------------------------------------------------------------------------------------------------
// Generators.

const BIASED: [char; 14] = [
    'a', 'b', 'i', 'j', 'A', 'Z', '.', '-', '>', ',', ' ', '!', '1', 'é',
];

/// Near misses a sloppy parser might let through: other whitespace, digits, `_`.
const NEAR_MISSES: [char; 5] = ['\t', '\n', '\u{a0}', '0', '_'];

fn biased_char() -> impl Strategy<Value = char> {
    prop_oneof![
        9 => prop::sample::select(BIASED.to_vec()),
        1 => prop::sample::select(NEAR_MISSES.to_vec()),
    ]
}

/// Arbitrary unicode, biased characters, and biased tokens (which hit `->` and `...` often).
fn arbitrary_text() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "a", "i", "j", "Z", "->", "...", ",", " ", ".", "-", ">", "!", "é", "ii",
    ]);
    prop_oneof![
        any::<String>(),
        prop::collection::vec(biased_char(), 0..20).prop_map(|v| v.into_iter().collect()),
        prop::collection::vec(tokens, 0..12).prop_map(|v| v.concat()),
    ]
}

/// A valid pattern, kept as tokens (labels, `,`, `->`, `...`, runs of spaces) so that tests can inject
/// at token boundaries.
#[derive(Debug, Clone)]
struct Valid {
    tokens: Vec<String>,
    /// Index of the `->` token, if explicit.
    arrow: Option<usize>,
}

impl Valid {
    fn text(&self) -> String {
        self.tokens.concat()
    }

    /// Byte offsets between tokens (0 and the length included), each with the index of the token after.
    fn boundaries(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        for (i, t) in self.tokens.iter().enumerate() {
            out.push((at, i));
            at += t.len();
        }
        out.push((at, self.tokens.len()));
        out
    }

    fn input_labels(&self) -> Vec<char> {
        let end = self.arrow.unwrap_or(self.tokens.len());
        self.tokens[..end]
            .iter()
            .filter(|t| t.len() == 1 && t.as_bytes()[0].is_ascii_alphabetic())
            .map(|t| t.as_bytes()[0] as char)
            .collect()
    }

    fn output_labels(&self) -> Vec<char> {
        match self.arrow {
            None => Vec::new(),
            Some(a) => self.tokens[a + 1..]
                .iter()
                .filter(|t| t.len() == 1 && t.as_bytes()[0].is_ascii_alphabetic())
                .map(|t| t.as_bytes()[0] as char)
                .collect(),
        }
    }
}

fn label() -> impl Strategy<Value = char> {
    let all: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
    prop_oneof![
        6 => prop::sample::select(vec!['a', 'b', 'i', 'j', 'k', 'A', 'Z']),
        1 => prop::sample::select(all),
    ]
}

fn term() -> impl Strategy<Value = (Vec<char>, Option<Index>)> {
    (
        prop::collection::vec(label(), 0..5),
        prop::option::weighted(0.3, any::<Index>()),
    )
}

fn term_tokens(labels: &[char], ellipsis: Option<usize>) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..=labels.len() {
        if ellipsis == Some(i) {
            out.push("...".to_owned());
        }
        if let Some(c) = labels.get(i) {
            out.push(c.to_string());
        }
    }
    out
}

/// Valid patterns; `explicit` decides whether they have `->`.
fn valid(explicit: impl Strategy<Value = bool>) -> impl Strategy<Value = Valid> {
    let spaces = prop_oneof![5 => Just(0usize), 1 => Just(1), 1 => Just(2)];
    (
        prop::collection::vec(term(), 1..5),
        explicit,
        prop::collection::vec(any::<Index>(), 0..5),
        prop::option::weighted(0.3, any::<Index>()),
        prop::collection::vec(spaces, 32),
    )
        .prop_map(|(terms, explicit, picks, out_ellipsis, spaces)| {
            let mut bare: Vec<String> = Vec::new();
            let mut arrow = None;
            let mut distinct: Vec<char> = Vec::new();
            for (i, (labels, ellipsis)) in terms.iter().enumerate() {
                if i > 0 {
                    bare.push(",".to_owned());
                }
                let ellipsis = ellipsis.map(|e| e.index(labels.len() + 1));
                bare.extend(term_tokens(labels, ellipsis));
                for c in labels {
                    if !distinct.contains(c) {
                        distinct.push(*c);
                    }
                }
            }
            if explicit {
                arrow = Some(bare.len());
                bare.push("->".to_owned());
                let mut out: Vec<char> = Vec::new();
                if !distinct.is_empty() {
                    for pick in picks {
                        let c = distinct[pick.index(distinct.len())];
                        if !out.contains(&c) {
                            out.push(c);
                        }
                    }
                }
                let ellipsis = out_ellipsis.map(|e| e.index(out.len() + 1));
                bare.extend(term_tokens(&out, ellipsis));
            }
            // Interleave runs of spaces; the arrow's index moves with them.
            let mut tokens = Vec::new();
            let mut moved_arrow = None;
            for (i, t) in bare.into_iter().enumerate() {
                let n = spaces[i % spaces.len()];
                if n > 0 {
                    tokens.push(" ".repeat(n));
                }
                if Some(i) == arrow {
                    moved_arrow = Some(tokens.len());
                }
                tokens.push(t);
            }
            if spaces[spaces.len() - 1] > 0 {
                tokens.push(" ".to_owned());
            }
            Valid {
                tokens,
                arrow: moved_arrow,
            }
        })
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(Index, char),
    Delete(Index),
    Replace(Index, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), biased_char()).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<Index>().prop_map(Mutation::Delete),
        (any::<Index>(), biased_char()).prop_map(|(i, c)| Mutation::Replace(i, c)),
    ]
}

/// Mostly valid patterns, a third of them left alone and the rest hit by one to three mutations.
fn mutated() -> impl Strategy<Value = String> {
    let mutations = prop_oneof![
        1 => Just(Vec::new()),
        2 => prop::collection::vec(mutation(), 1..4),
    ];
    (valid(any::<bool>()), mutations).prop_map(|(valid, mutations)| {
        let mut chars: Vec<char> = valid.text().chars().collect();
        for m in mutations {
            match m {
                Mutation::Insert(i, c) => chars.insert(i.index(chars.len() + 1), c),
                Mutation::Delete(i) if !chars.is_empty() => {
                    chars.remove(i.index(chars.len()));
                }
                Mutation::Replace(i, c) if !chars.is_empty() => {
                    let at = i.index(chars.len());
                    chars[at] = c;
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    })
}

// ---------------------------------------------------------------------------------------------------
// Property 1: nothing panics, and positions are sound.

fn run_everything(text: &str) -> Result<(), TestCaseError> {
    match parse_pattern(text) {
        Err(problems) => {
            prop_assert!(!problems.is_empty());
            for p in &problems {
                let pos = p.pos.expect("parser problems point at a character");
                prop_assert!(pos < text.len() && text.is_char_boundary(pos), "{:?}", p);
                let _ = p.render(text);
            }
        }
        Ok(pattern) => {
            let terms = pattern.inputs.iter().chain(&pattern.output);
            for term in terms {
                for l in &term.labels {
                    prop_assert_eq!(text[l.pos..].chars().next(), Some(l.ch));
                }
                if let Some(e) = term.ellipsis {
                    prop_assert!(text[e.pos..].starts_with("..."));
                    prop_assert!(e.index <= term.labels.len());
                }
            }
            let problems = pattern_problems(&pattern);
            for p in &problems {
                let pos = p.pos.expect("checker problems point at a label");
                prop_assert!(text.is_char_boundary(pos) && pos < text.len());
                let _ = p.render(text);
            }
            if problems.is_empty() {
                let plan = Plan::new(text, &pattern);
                let _ = plan.output_rank();
                for k in 0..plan.inputs.len() {
                    let _ = plan.grad(k);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn nothing_panics_on_arbitrary_text(text in arbitrary_text()) {
        run_everything(&text)?;
    }

    #[test]
    fn nothing_panics_on_mutated_patterns(text in mutated()) {
        run_everything(&text)?;
    }
}

// ---------------------------------------------------------------------------------------------------
// Property 2: parse + check accept exactly what the reference accepts, and read the same terms.

fn agrees_with_reference(text: &str) -> Result<bool, TestCaseError> {
    let ours = parse_pattern(text)
        .ok()
        .filter(|p| pattern_problems(p).is_empty());
    let theirs = reference(text);
    prop_assert_eq!(
        ours.is_some(),
        theirs.is_some(),
        "accepted by parse+check vs reference"
    );
    if let (Some(ours), Some(theirs)) = (ours, theirs) {
        let ours_inputs: Vec<String> = ours.inputs.iter().map(|t| t.spelling()).collect();
        let theirs_inputs: Vec<String> = theirs.inputs.iter().map(RefTerm::spelling).collect();
        prop_assert_eq!(ours_inputs, theirs_inputs);
        prop_assert_eq!(
            ours.output.as_ref().map(|t| t.spelling()),
            theirs.output.as_ref().map(RefTerm::spelling)
        );
        return Ok(true);
    }
    Ok(false)
}

#[test]
fn parse_and_check_accept_exactly_the_reference_language() {
    let accepted = Cell::new(0u32);
    let rejected = Cell::new(0u32);
    let mut runner = TestRunner::new(config(3000));
    let strategy = prop_oneof![4 => mutated(), 1 => arbitrary_text()];
    if let Err(e) = runner.run(&strategy, |text| {
        let cell = if agrees_with_reference(&text)? {
            &accepted
        } else {
            &rejected
        };
        cell.set(cell.get() + 1);
        Ok(())
    }) {
        panic!("{e}");
    }
    let (a, r) = (accepted.get(), rejected.get());
    assert!(
        a >= 500 && r >= 500,
        "both sides need coverage: {a} accepted, {r} rejected"
    );
}

// ---------------------------------------------------------------------------------------------------
// Property 3: the implicit output.

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn implicit_output_matches_the_reference(text in prop_oneof![
        3 => valid(Just(false)).prop_map(|v| v.text()),
        1 => mutated(),
    ]) {
        let Some(reference) = reference(&text) else { return Ok(()) };
        if reference.output.is_some() {
            return Ok(());
        }
        let pattern = parse_pattern(&text).expect("the reference accepted it");
        let plan = Plan::new(&text, &pattern);
        assert_term(&plan.output, &reference_implicit_output(&reference.inputs), "implicit output")?;
        for (got, want) in plan.inputs.iter().zip(&reference.inputs) {
            assert_term(got, want, "input")?;
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Property 4: the position of a single mistake, and the caret under it.

/// The render ends with the pattern line and the caret line; the caret's column in the pattern line
/// (in characters) must hold the culprit.
fn assert_caret_under(rendered: &str, text: &str, pos: usize) -> Result<(), TestCaseError> {
    let lines: Vec<&str> = rendered.lines().collect();
    prop_assert!(lines.len() >= 3, "{}", rendered);
    let shown = lines[lines.len() - 2];
    let caret = lines[lines.len() - 1];
    prop_assert_eq!(shown, format!("  \"{text}\""));
    prop_assert!(
        caret.ends_with('^') && caret[..caret.len() - 1].chars().all(|c| c == ' '),
        "{}",
        rendered
    );
    let column = caret.chars().count() - 1;
    prop_assert_eq!(
        shown.chars().nth(column),
        text[pos..].chars().next(),
        "{}",
        rendered
    );
    Ok(())
}

/// What may be injected at a token boundary of a valid pattern, with the one problem it must cause.
fn injection() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "!", "1", "é", "€", "𝔸", "?", "0", "_", "ß", "-", ">", ".", "....", ",", "->",
    ])
}

/// Whether injecting `what` before token `next` of `valid` is one mistake at the injected text.
fn is_single_mistake(valid: &Valid, next: usize, what: &str) -> bool {
    let after_arrow = valid.arrow.is_some_and(|a| next > a);
    match what {
        // Commas and arrows are only mistakes in the output.
        "," | "->" => after_arrow,
        // Dots merge with a neighbouring `...` (spaces in between keep them apart).
        "." | "...." => {
            let before = next.checked_sub(1).map(|i| valid.tokens[i].as_str());
            let after = valid.tokens.get(next).map(String::as_str);
            before != Some("...") && after != Some("...")
        }
        _ => true,
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn one_injected_character_is_one_problem_at_its_position(
        valid in valid(any::<bool>()),
        at in any::<Index>(),
        what in injection(),
    ) {
        let boundaries: Vec<usize> = valid
            .boundaries()
            .into_iter()
            .filter(|&(_, next)| is_single_mistake(&valid, next, what))
            .map(|(pos, _)| pos)
            .collect();
        prop_assume!(!boundaries.is_empty());
        let pos = boundaries[at.index(boundaries.len())];
        let base = valid.text();
        let text = format!("{}{}{}", &base[..pos], what, &base[pos..]);
        let problems = parse_pattern(&text).expect_err("an injected mistake");
        prop_assert_eq!(problems.len(), 1, "{:?}", problems);
        prop_assert_eq!(problems[0].pos, Some(pos));
        assert_caret_under(&problems[0].render(&text), &text, pos)?;
    }

    /// Two injected characters: the second caret has a multi-byte character before it, so this checks
    /// that `render` counts characters, not bytes.
    #[test]
    fn two_injected_characters_are_two_problems_with_carets(
        valid in valid(any::<bool>()),
        at in (any::<Index>(), any::<Index>()),
        what in (
            prop::sample::select(vec!['é', '€', '𝔸', '!']),
            prop::sample::select(vec!['é', '€', '𝔸', '?']),
        ),
    ) {
        let boundaries = valid.boundaries();
        let a = boundaries[at.0.index(boundaries.len())].0;
        let b = boundaries[at.1.index(boundaries.len())].0;
        let (first, second) = (a.min(b), a.max(b));
        let base = valid.text();
        let text = format!(
            "{}{}{}{}{}",
            &base[..first], what.0, &base[first..second], what.1, &base[second..]
        );
        let expected = [first, second + what.0.len_utf8()];
        let problems = parse_pattern(&text).expect_err("two injected mistakes");
        let got: Vec<Option<usize>> = problems.iter().map(|p| p.pos).collect();
        prop_assert_eq!(got, expected.map(Some).to_vec());
        for (p, pos) in problems.iter().zip(expected) {
            assert_caret_under(&p.render(&text), &text, pos)?;
        }
    }

    #[test]
    fn an_unknown_output_label_is_reported_at_its_position(
        valid in valid(Just(true)),
        at in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let inputs = valid.input_labels();
        let unknown: Vec<char> = ('a'..='z').chain('A'..='Z').filter(|c| !inputs.contains(c)).collect();
        prop_assume!(!unknown.is_empty());
        let label = unknown[pick.index(unknown.len())];
        let arrow = valid.arrow.expect("explicit");
        let boundaries: Vec<usize> = valid
            .boundaries()
            .into_iter()
            .filter(|&(_, next)| next > arrow)
            .map(|(pos, _)| pos)
            .collect();
        let pos = boundaries[at.index(boundaries.len())];
        let base = valid.text();
        let text = format!("{}{}{}", &base[..pos], label, &base[pos..]);
        let pattern = parse_pattern(&text).expect("still grammatical");
        let problems = pattern_problems(&pattern);
        prop_assert_eq!(problems.len(), 1, "{:?}", problems);
        prop_assert_eq!(problems[0].pos, Some(pos));
        assert_caret_under(&problems[0].render(&text), &text, pos)?;
    }

    #[test]
    fn a_repeated_output_label_is_reported_at_the_repeat(
        valid in valid(Just(true)),
        at in any::<Index>(),
        pick in any::<Index>(),
    ) {
        let output = valid.output_labels();
        prop_assume!(!output.is_empty());
        let label = output[pick.index(output.len())];
        let arrow = valid.arrow.expect("explicit");
        // Boundaries after the label's only occurrence in the output.
        let first = (arrow + 1..valid.tokens.len())
            .find(|&i| valid.tokens[i] == label.to_string())
            .expect("the label is in the output");
        let boundaries: Vec<usize> = valid
            .boundaries()
            .into_iter()
            .filter(|&(_, next)| next > first)
            .map(|(pos, _)| pos)
            .collect();
        let pos = boundaries[at.index(boundaries.len())];
        let base = valid.text();
        let text = format!("{}{}{}", &base[..pos], label, &base[pos..]);
        let pattern = parse_pattern(&text).expect("still grammatical");
        let problems = pattern_problems(&pattern);
        prop_assert_eq!(problems.len(), 1, "{:?}", problems);
        prop_assert_eq!(problems[0].pos, Some(pos));
    }
}

// ---------------------------------------------------------------------------------------------------
// Property 5: gradient plans.

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn gradient_plans_match_the_reference(text in prop_oneof![
        3 => valid(any::<bool>()).prop_map(|v| v.text()),
        1 => mutated(),
    ]) {
        let Some(reference) = reference(&text) else { return Ok(()) };
        let pattern = parse_pattern(&text).expect("the reference accepted it");
        let plan = Plan::new(&text, &pattern);
        let output = reference_output(&reference);
        assert_term(&plan.output, &output, "output")?;
        let n = reference.inputs.len();
        for k in 0..n {
            let grad = plan.grad(k);
            let sources: Vec<usize> = (0..n).filter(|&i| i != k).collect();
            prop_assert_eq!(&grad.sources, &sources);
            prop_assert_eq!(grad.inputs.len(), n);
            assert_term(&grad.inputs[0], &output, "gradient input G")?;
            for (got, &i) in grad.inputs[1..].iter().zip(&sources) {
                assert_term(got, &reference.inputs[i], "gradient input")?;
            }
            assert_term(&grad.target, &reference.inputs[k], "gradient target")?;
            assert_term(&grad.output, &reference_grad_output(&reference, k), "gradient output")?;
        }
    }
}
