//! A checked [`Pattern`] turned into what the code generator needs: label ids, the resolved output,
//! and, for every operand, the plan of its gradient, which is itself an einsum.
//!
//! Extents are unknown at compile time, so the pairwise contraction order of 3+ operands is chosen at
//! run time from the real extents (see `einsum_runtime::__private`); the plan fixes everything else.

use crate::pattern::{Pattern, Term};

/// A label as the runtime sees it: `A..Z` are 0..26 and `a..z` are 26..52, so sorting ids sorts by
/// character code, as numpy does for the implicit output. Ellipsis dimensions get ids from 52 on at
/// run time, once the operands' ranks are known. This restates `einsum_runtime::contract::Label`
/// (the runtime depends on this crate, so this crate cannot import it); [`label_id`] and
/// [`label_char`] are the only encoders and decoders.
pub type LabelId = u16;

fn label_id(ch: char) -> LabelId {
    match ch {
        'A'..='Z' => ch as LabelId - 'A' as LabelId,
        'a'..='z' => 26 + ch as LabelId - 'a' as LabelId,
        _ => unreachable!("the parser only keeps letters as labels"),
    }
}

/// One term with label ids; `ellipsis` is the number of labels before the `...`, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermPlan {
    pub labels: Vec<LabelId>,
    pub ellipsis: Option<usize>,
    pub spelling: String,
}

impl TermPlan {
    fn from_term(term: &Term) -> Self {
        TermPlan {
            labels: term.labels.iter().map(|l| label_id(l.ch)).collect(),
            ellipsis: term.ellipsis.map(|e| e.index),
            spelling: term.spelling(),
        }
    }

    /// The term's labels as characters, in order (repeats included, ellipsis left out).
    pub fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.labels.iter().map(|&id| label_char(id))
    }

    /// The term's distinct labels, in the order it first names them: the slots of its operand's view.
    pub fn distinct(&self) -> Vec<char> {
        let mut out: Vec<char> = Vec::new();
        for c in self.chars() {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// Per axis, its slot in [`distinct`](TermPlan::distinct): axes of a repeated label share one.
    pub fn slots(&self) -> Vec<usize> {
        let distinct = self.distinct();
        self.chars()
            .map(|c| {
                distinct
                    .iter()
                    .position(|&d| d == c)
                    .expect("distinct holds every label")
            })
            .collect()
    }

    /// The number of axes an operand of this term has, when fixed (no ellipsis).
    pub fn fixed_rank(&self) -> Option<usize> {
        match self.ellipsis {
            None => Some(self.labels.len()),
            Some(_) => None,
        }
    }
}

/// The forward einsum: resolved terms, with the implicit output made explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub pattern: String,
    pub inputs: Vec<TermPlan>,
    pub output: TermPlan,
}

/// The einsum that computes operand `operand`'s gradient: the upstream gradient `G` (with the output's
/// term) replaces the operand, and the output is the operand's distinct labels, restricted to those the
/// other terms provide. `target` is the operand's own term: the epilogue writes the result through it,
/// which broadcasts over the dropped labels, fills only the diagonal of repeated labels and sums axes
/// that were broadcast from extent 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradPlan {
    /// `inputs[0]` is `G`; `inputs[i + 1]` is operand `sources[i]`.
    pub inputs: Vec<TermPlan>,
    pub sources: Vec<usize>,
    pub output: TermPlan,
    pub target: TermPlan,
}

impl Plan {
    /// Plans a pattern that `check::check_pattern` accepted.
    pub fn new(text: &str, pattern: &Pattern) -> Self {
        let inputs: Vec<TermPlan> = pattern.inputs.iter().map(TermPlan::from_term).collect();
        let output = match &pattern.output {
            Some(term) => TermPlan::from_term(term),
            None => plan_implicit_output(&inputs),
        };
        Plan {
            pattern: text.to_owned(),
            inputs,
            output,
        }
    }

    /// Whether the macro writes this pattern's kernels: every rank is fixed (no `...`) and there are
    /// at most `MAX_ENUMERATED` operands. Other patterns take the run-time executor.
    pub fn is_generated(&self) -> bool {
        self.inputs.len() <= crate::schedule::MAX_ENUMERATED
            && self.output.ellipsis.is_none()
            && self.inputs.iter().all(|t| t.ellipsis.is_none())
    }

    /// Every label of the inputs, in the order the pattern first names them.
    pub fn labels(&self) -> Vec<char> {
        let mut out: Vec<char> = Vec::new();
        for c in self.inputs.iter().flat_map(TermPlan::chars) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// The output's static rank, or `None` when it must be dynamic (`IxDyn`): with an ellipsis, or more
    /// labels than ndarray has fixed dimension types for.
    pub fn output_rank(&self) -> Option<usize> {
        self.output.fixed_rank().filter(|&rank| rank <= 6)
    }

    /// The plan of operand `k`'s gradient (see [`GradPlan`]).
    pub fn grad(&self, k: usize) -> GradPlan {
        let target = self.inputs[k].clone();
        let sources: Vec<usize> = (0..self.inputs.len()).filter(|&i| i != k).collect();
        let mut inputs = vec![self.output.clone()];
        inputs.extend(sources.iter().map(|&i| self.inputs[i].clone()));

        let provided = |label: LabelId| inputs.iter().any(|t| t.labels.contains(&label));
        let mut output = TermPlan {
            labels: Vec::new(),
            ellipsis: None,
            spelling: String::new(),
        };
        for (i, &label) in target.labels.iter().enumerate() {
            if target.ellipsis == Some(i) && inputs.iter().any(|t| t.ellipsis.is_some()) {
                output.ellipsis = Some(output.labels.len());
            }
            if provided(label) && !output.labels.contains(&label) {
                output.labels.push(label);
            }
        }
        if target.ellipsis == Some(target.labels.len())
            && inputs.iter().any(|t| t.ellipsis.is_some())
        {
            output.ellipsis = Some(output.labels.len());
        }
        output.spelling = spell(&output.labels, output.ellipsis);
        GradPlan {
            inputs,
            sources,
            output,
            target,
        }
    }
}

/// A gradient einsum that is the forward einsum under other label names: operand slot `s` of the
/// forward pattern is filled by gradient input `fills[s]` (0 for `G`, `i + 1` for operand
/// `sources[i]`), whose axes are taken in the order of `labels[s]`, one gradient label per axis of
/// the forward term; the forward's result is then the gradient, its axes in the operand's order.
///
/// The gradient of a matrix product is one: `ij,jk->ik` has `ik,jk->ij` for `a` (`g · bᵀ`:
/// `g` fills `a`'s slot, `b` transposed fills `b`'s) and `ij,ik->jk` for `b`; so are those of
/// batched products, attention, chains, permutations and elementwise products. Such a gradient
/// calls the forward kernel instead of a loop nest of its own: one kernel to compile per call
/// rather than one per operand, and the same code, GEMM route included, for both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardForm {
    pub fills: Vec<usize>,
    pub labels: Vec<Vec<char>>,
}

impl GradPlan {
    /// The gradient as the forward einsum under other names (see [`ForwardForm`]), or `None` when
    /// it is not one, or its result is not the operand's gradient as it stands: a repeated label
    /// (a diagonal) in any term, or an operand's label that the other terms do not provide (the
    /// gradient broadcasts over it). Of several ways, the one that reorders the fewest inputs.
    pub fn forward_form(&self, plan: &Plan) -> Option<ForwardForm> {
        let chars = |t: &TermPlan| t.chars().collect::<Vec<char>>();
        let forward: Vec<Vec<char>> = plan.inputs.iter().map(chars).collect();
        let forward_out = chars(&plan.output);
        let grad: Vec<Vec<char>> = self.inputs.iter().map(chars).collect();
        let target = chars(&self.target);
        let distinct = |t: &[char]| t.iter().enumerate().all(|(i, c)| !t[..i].contains(c));
        if chars(&self.output) != target
            || target.len() != forward_out.len()
            || !(forward.iter().chain(&grad)).all(|t| distinct(t))
            || !distinct(&forward_out)
        {
            return None;
        }
        let mut best: Option<(usize, ForwardForm)> = None;
        for fills in permutations(forward.len()) {
            let terms: Vec<&[char]> = fills.iter().map(|&j| &grad[j][..]).collect();
            let Some(labels) = rename(&forward, &forward_out, &terms, &target) else {
                continue;
            };
            let reordered = (labels.iter().zip(&terms))
                .filter(|(l, t)| l[..] != t[..])
                .count();
            if best.as_ref().is_none_or(|(r, _)| reordered < *r) {
                best = Some((reordered, ForwardForm { fills, labels }));
            }
        }
        best.map(|(_, form)| form)
    }
}

/// The renaming that makes `terms -> target` the einsum `forward -> forward_out`, as the gradient
/// label of each axis of each forward term; `None` if there is none. A label's role is the set of
/// terms it occurs in (and whether the result has it); the result's labels are matched in order,
/// the others in the order the terms first name them, each with the first unmatched label of the
/// same role.
fn rename(
    forward: &[Vec<char>],
    forward_out: &[char],
    terms: &[&[char]],
    target: &[char],
) -> Option<Vec<Vec<char>>> {
    if (forward.iter().zip(terms)).any(|(f, t)| f.len() != t.len()) {
        return None;
    }
    let role = |c: char, ts: &mut dyn Iterator<Item = &[char]>, out: &[char]| {
        let mut mask = u64::from(out.contains(&c));
        for (s, t) in ts.enumerate() {
            mask |= u64::from(t.contains(&c)) << (s + 1);
        }
        mask
    };
    let forward_role = |c: char| role(c, &mut forward.iter().map(|t| &t[..]), forward_out);
    let grad_role = |c: char| role(c, &mut terms.iter().copied(), target);
    let mut map: Vec<(char, char)> = Vec::new();
    for (&f, &g) in forward_out.iter().zip(target) {
        if forward_role(f) != grad_role(g) {
            return None;
        }
        map.push((f, g));
    }
    let first_named = |ts: &mut dyn Iterator<Item = &[char]>, out: &[char]| {
        let mut seen: Vec<char> = Vec::new();
        for c in ts.flatten() {
            if !out.contains(c) && !seen.contains(c) {
                seen.push(*c);
            }
        }
        seen
    };
    let mut rest = first_named(&mut terms.iter().copied(), target);
    for f in first_named(&mut forward.iter().map(|t| &t[..]), forward_out) {
        let at = rest.iter().position(|&g| grad_role(g) == forward_role(f))?;
        map.push((f, rest.remove(at)));
    }
    if !rest.is_empty() {
        return None;
    }
    let renamed = |f: &char| map.iter().find(|(x, _)| x == f).map(|&(_, g)| g);
    forward
        .iter()
        .map(|t| t.iter().map(renamed).collect())
        .collect()
}

/// Every ordering of `0..n`, the identity first.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for shorter in permutations(n - 1) {
        for at in (0..n).rev() {
            let mut p = shorter.clone();
            p.insert(at, n - 1);
            out.push(p);
        }
    }
    out
}

/// numpy's implicit output: the labels that occur exactly once, sorted by character code, after the
/// ellipsis dimensions if any operand has an ellipsis.
fn plan_implicit_output(inputs: &[TermPlan]) -> TermPlan {
    let mut counts = [0usize; 52];
    for label in inputs.iter().flat_map(|t| &t.labels) {
        counts[usize::from(*label)] += 1;
    }
    let labels: Vec<LabelId> = (0..52).filter(|&id| counts[usize::from(id)] == 1).collect();
    let ellipsis = inputs.iter().any(|t| t.ellipsis.is_some()).then_some(0);
    TermPlan {
        spelling: spell(&labels, ellipsis),
        labels,
        ellipsis,
    }
}

fn label_char(id: LabelId) -> char {
    let base = if id < 26 { b'A' } else { b'a' - 26 };
    char::from(base + id as u8)
}

fn spell(labels: &[LabelId], ellipsis: Option<usize>) -> String {
    let mut out = String::new();
    for i in 0..=labels.len() {
        if ellipsis == Some(i) {
            out.push_str("...");
        }
        if let Some(&id) = labels.get(i) {
            out.push(label_char(id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::parse_pattern;

    fn plan(text: &str) -> Plan {
        Plan::new(text, &parse_pattern(text).unwrap())
    }

    #[test]
    fn implicit_output_is_sorted_singles_after_the_ellipsis() {
        assert_eq!(plan("ij,jk").output.spelling, "ik");
        assert_eq!(plan("ba").output.spelling, "ab");
        assert_eq!(plan("bB").output.spelling, "Bb");
        assert_eq!(plan("ii").output.spelling, "");
        assert_eq!(plan("...ij,...jk").output.spelling, "...ik");
        assert_eq!(plan("i...,i").output.spelling, "...");
    }

    #[test]
    fn gradient_plans_follow_the_rule() {
        let p = plan("ij,jk->ik");
        let g0 = p.grad(0);
        assert_eq!(g0.inputs[0].spelling, "ik");
        assert_eq!(g0.inputs[1].spelling, "jk");
        assert_eq!(g0.sources, vec![1]);
        assert_eq!(g0.output.spelling, "ij");
        // The seed's counter-example: `cd` is private to W, so it is dropped and broadcast back later.
        let p = plan("ab,cd->ab");
        assert_eq!(p.grad(1).output.spelling, "");
        assert_eq!(p.grad(1).target.spelling, "cd");
        // Repeated labels appear once in the gradient einsum; the epilogue writes the diagonal.
        assert_eq!(plan("ii->i").grad(0).output.spelling, "i");
        assert_eq!(plan("bij,jk->ik").grad(0).output.spelling, "ij");
        assert_eq!(plan("...ij,jk->...ik").grad(0).output.spelling, "...ij");
        assert_eq!(plan("...ij,jk->ik").grad(0).output.spelling, "ij");
    }

    #[test]
    fn gradients_in_forward_form() {
        let form = |text: &str, k: usize| {
            let p = plan(text);
            p.grad(k).forward_form(&p).map(|f| {
                let labels: Vec<String> = f.labels.iter().map(|l| l.iter().collect()).collect();
                (f.fills, labels)
            })
        };
        // `g · bᵀ`: g (input 0, "ik") fills a's slot as it is, b ("jk") fills b's transposed.
        assert_eq!(
            form("ij,jk->ik", 0),
            Some((vec![0, 1], vec!["ik".into(), "kj".into()]))
        );
        // `aᵀ · g`: a ("ij", input 1) fills the first slot, transposed; g the second.
        assert_eq!(
            form("ij,jk->ik", 1),
            Some((vec![1, 0], vec!["ji".into(), "ik".into()]))
        );
        // A transpose's gradient is the transpose of g: the forward kernel on g as it is.
        assert_eq!(form("ij->ji", 0), Some((vec![0], vec!["ji".into()])));
        assert_eq!(
            form("bhqd,bhkd->bhqk", 0),
            Some((vec![0, 1], vec!["bhqk".into(), "bhdk".into()]))
        );
        assert!(form("ij,jk,kl->il", 1).is_some());
        assert!(form("ij,ij->ij", 1).is_some());
        assert!(form("ij,cij->ij", 0).is_some());
        // Not the forward einsum under other names: an outer product's gradient is a matrix-vector
        // product, a sum's a broadcast, a diagonal's a write to the diagonal.
        assert_eq!(form("i,j->ij", 0), None);
        assert_eq!(form("ij,j->i", 0), None);
        assert_eq!(form("ij->", 0), None);
        assert_eq!(form("ii->i", 0), None);
        assert_eq!(form("ijk,jkl->il", 0), None);
        // A matrix-vector product's vector gradient is a vector-matrix product: `g` as the vector.
        assert_eq!(
            form("ij,j->i", 1),
            Some((vec![1, 0], vec!["ji".into(), "i".into()]))
        );
    }

    #[test]
    fn static_rank_only_without_ellipsis_and_up_to_six() {
        assert_eq!(plan("ij->ij").output_rank(), Some(2));
        assert_eq!(plan("ii->").output_rank(), Some(0));
        assert_eq!(plan("...i->...i").output_rank(), None);
        assert_eq!(plan("abcdefg->abcdefg").output_rank(), None);
    }
}
