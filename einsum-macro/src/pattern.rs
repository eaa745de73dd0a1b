//! The pattern string, parsed into terms and labels.
//!
//! Grammar (spaces are allowed around every token, but not inside `->` or `...`):
//!
//! ```text
//! pattern  = inputs [ "->" output ]
//! inputs   = term { "," term }
//! output   = term
//! term     = { label | "..." }          (at most one "..." per term)
//! label    = "a".."z" | "A".."Z"
//! ```
//!
//! Parsing never panics: every problem is collected with the byte position of its culprit.

/// One mistake in a pattern, with the byte offset of the character it is about (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn at(pos: usize, message: impl Into<String>) -> Self {
        Problem {
            pos: Some(pos),
            message: message.into(),
        }
    }

    /// The message, followed by the pattern with a caret under the culprit when there is one.
    pub fn render(&self, pattern: &str) -> String {
        match self.pos {
            None => self.message.clone(),
            Some(pos) => {
                let shown: String = pattern
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                let column = pattern[..pos].chars().count();
                format!(
                    "{}\n  \"{}\"\n   {}^",
                    self.message,
                    shown,
                    " ".repeat(column)
                )
            }
        }
    }
}

/// A label character and where it stands in the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub ch: char,
    pub pos: usize,
}

/// A `...` inside a term: `index` is the number of labels before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ellipsis {
    pub index: usize,
    pub pos: usize,
}

/// One comma-separated part of the pattern (an operand's subscripts, or the output).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Term {
    pub labels: Vec<Label>,
    pub ellipsis: Option<Ellipsis>,
}

impl Term {
    pub fn has(&self, ch: char) -> bool {
        self.labels.iter().any(|l| l.ch == ch)
    }

    /// The term as it would be written, without spaces (`ij`, `...k`).
    pub fn spelling(&self) -> String {
        let mut out = String::new();
        for (i, label) in self.labels.iter().enumerate() {
            if self.ellipsis.is_some_and(|e| e.index == i) {
                out.push_str("...");
            }
            out.push(label.ch);
        }
        if self.ellipsis.is_some_and(|e| e.index == self.labels.len()) {
            out.push_str("...");
        }
        out
    }
}

/// A parsed pattern. `output` is `None` in implicit mode (no `->`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub inputs: Vec<Term>,
    pub output: Option<Term>,
}

/// Parses `text` into a [`Pattern`], or returns every problem found.
pub fn parse_pattern(text: &str) -> Result<Pattern, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut inputs = Vec::new();
    let mut output: Option<Term> = None;
    let mut current = Term::default();
    let bytes = text.as_bytes();
    let mut chars = text.char_indices().peekable();

    while let Some((pos, ch)) = chars.next() {
        match ch {
            'a'..='z' | 'A'..='Z' => current.labels.push(Label { ch, pos }),
            ' ' => {}
            ',' if output.is_some() => problems.push(Problem::at(
                pos,
                "the output of an einsum pattern is a single term, but `,` follows `->`",
            )),
            ',' => inputs.push(std::mem::take(&mut current)),
            '-' if bytes.get(pos + 1) == Some(&b'>') => {
                chars.next();
                if output.is_some() {
                    problems.push(Problem::at(pos, "einsum pattern has more than one `->`"));
                } else {
                    inputs.push(std::mem::take(&mut current));
                    output = Some(Term::default());
                }
            }
            '-' => problems.push(Problem::at(
                pos,
                "`-` must be followed by `>` to form the arrow `->`",
            )),
            '>' => problems.push(Problem::at(
                pos,
                "`>` must follow `-` to form the arrow `->`",
            )),
            '.' => {
                // A run of dots is one token: exactly three make an ellipsis, anything else is one mistake.
                let run = text[pos..].bytes().take_while(|&b| b == b'.').count();
                for _ in 1..run {
                    chars.next();
                }
                if run != 3 {
                    problems.push(Problem::at(
                        pos,
                        format!(
                            "malformed ellipsis: found {run} dots, expected exactly three `...`"
                        ),
                    ));
                } else if current.ellipsis.is_some() {
                    problems.push(Problem::at(pos, "a term may contain `...` only once"));
                } else {
                    current.ellipsis = Some(Ellipsis {
                        index: current.labels.len(),
                        pos,
                    });
                }
            }
            _ => problems.push(Problem::at(
                pos,
                format!(
                    "invalid character `{}` in einsum pattern: labels are `a-z` and `A-Z`",
                    ch.escape_debug()
                ),
            )),
        }
    }
    match output.as_mut() {
        Some(out) => *out = current,
        None => inputs.push(current),
    }
    if problems.is_empty() {
        Ok(Pattern { inputs, output })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spell(p: &Pattern) -> String {
        let inputs: Vec<String> = p.inputs.iter().map(Term::spelling).collect();
        match &p.output {
            Some(out) => format!("{}->{}", inputs.join(","), out.spelling()),
            None => inputs.join(","),
        }
    }

    #[test]
    fn round_trips_valid_patterns() {
        for (text, spelled) in [
            ("ij,jk->ik", "ij,jk->ik"),
            (" i j , j k -> i k ", "ij,jk->ik"),
            ("...ij,...jk->...ik", "...ij,...jk->...ik"),
            ("i...j", "i...j"),
            ("ii->", "ii->"),
            (",->", ",->"),
            ("", ""),
            ("Ab,bC", "Ab,bC"),
        ] {
            assert_eq!(spell(&parse_pattern(text).unwrap()), spelled, "{text}");
        }
    }

    #[test]
    fn reports_each_problem_with_its_position() {
        let cases: [(&str, &[usize]); 9] = [
            ("ij,j!->ik", &[4]),
            ("ij->i->j", &[5]),
            ("ij-k", &[2]),
            ("ij>k", &[2]),
            ("..ij", &[0]),
            ("i....", &[1]),
            ("...i...", &[4]),
            ("ij->i,j", &[5]),
            ("i- >j", &[1, 3]),
        ];
        for (text, positions) in cases {
            let problems = parse_pattern(text).unwrap_err();
            let got: Vec<usize> = problems.iter().map(|p| p.pos.unwrap()).collect();
            assert_eq!(got, positions, "{text}");
        }
    }

    #[test]
    fn caret_counts_characters_not_bytes() {
        let problems = parse_pattern("é!").unwrap_err();
        let shown = problems[1].render("é!");
        assert!(shown.ends_with("\n  \"é!\"\n    ^"), "{shown}");
    }
}
