//! `einsum_plan!`: what the macros generate for a pattern, as text. It reads the same [`Plan`] and
//! [`Contraction`]s that `emit` turns into code, so the description cannot drift from the code.

use std::fmt::Write;

use crate::plan::{GradPlan, Plan, TermPlan};
use crate::schedule::{plan_contraction, Contraction, Step, MAX_ENUMERATED};

/// The description of `plan` (see `einsum_runtime::einsum_plan!` for an example).
pub fn explain(plan: &Plan) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "einsum \"{}\"", plan.pattern);
    let terms: Vec<String> = plan.inputs.iter().map(|t| quoted(&t.spelling)).collect();
    let _ = writeln!(w, "  operands: {}", terms.join(", "));
    let rank = match plan.output_rank() {
        Some(r) => format!("Array{r}"),
        None => "ArrayD".to_owned(),
    };
    let _ = writeln!(w, "  output:   {} ({rank})", quoted(&plan.output.spelling));
    let _ = writeln!(w, "  labels:");
    for l in plan.labels() {
        let _ = writeln!(w, "    {l}: {}", role(plan, l));
    }
    if plan.is_generated() {
        let _ = writeln!(w, "  forward (generated code):");
        let inputs: Vec<Vec<char>> = plan.inputs.iter().map(TermPlan::distinct).collect();
        contraction(
            w,
            &plan_contraction(&inputs, &plan.output.distinct()),
            &names(plan),
        );
        let _ = writeln!(
            w,
            "  gradients (generated code; G is the upstream gradient, shaped like the output):"
        );
        for k in 0..plan.inputs.len() {
            gradient(w, plan, k, &plan.grad(k));
        }
    } else {
        let why = if plan.inputs.len() > MAX_ENUMERATED {
            format!("more than {MAX_ENUMERATED} operands")
        } else {
            "`...` (ranks known only at run time)".to_owned()
        };
        let _ = writeln!(
            w,
            "  forward and gradients: the run-time executor ({why}): ranks and extents are bound at run time, \
             the pairwise order is the cheapest found for the actual extents (optimal up to 8 tensors, greedy \
             beyond; see `einsum_path`), each step a loop kernel or a GEMM"
        );
        for k in 0..plan.inputs.len() {
            let g = plan.grad(k);
            let _ = writeln!(
                w,
                "    operand {k} {}: {}",
                quoted(&plan.inputs[k].spelling),
                grad_pattern(&g)
            );
        }
    }
    out
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// Which operands have label `l`, and whether it is free or summed.
fn role(plan: &Plan, l: char) -> String {
    let holders: Vec<String> = (plan.inputs.iter().enumerate())
        .filter(|(_, t)| t.chars().any(|c| c == l))
        .map(|(i, t)| {
            let repeats = t.chars().filter(|&c| c == l).count();
            if repeats > 1 {
                format!("{i} (diagonal)")
            } else {
                i.to_string()
            }
        })
        .collect();
    let kind = if plan.output.chars().any(|c| c == l) {
        "free"
    } else {
        "summed"
    };
    let which = if holders.len() == 1 {
        "operand"
    } else {
        "operands"
    };
    format!("{kind}, in {which} {}", holders.join(", "))
}

/// Names of the inputs of the forward contraction, for the step lines.
fn names(plan: &Plan) -> Vec<String> {
    (0..plan.inputs.len())
        .map(|i| format!("operand {i}"))
        .collect()
}

fn extent_product(labels: &[char]) -> String {
    if labels.is_empty() {
        return "1".to_owned();
    }
    labels
        .iter()
        .map(|l| format!("|{l}|"))
        .collect::<Vec<_>>()
        .join("·")
}

fn spell(labels: &[char]) -> String {
    labels.iter().collect()
}

/// The steps of a contraction whose inputs are called `inputs`.
fn contraction(w: &mut String, c: &Contraction, inputs: &[String]) {
    let name = |t: usize| match inputs.get(t) {
        Some(n) => n.clone(),
        None => format!("t{t}"),
    };
    for s in &c.reductions {
        let _ = writeln!(w, "    {}", step_line(c, s, &name));
    }
    match c.orders.as_slice() {
        [only] => {
            for s in &only.steps {
                let _ = writeln!(w, "    {}", step_line(c, s, &name));
            }
        }
        orders => {
            let _ = writeln!(
                w,
                "    {} of the {} pairwise orders (the others never cost less, whatever the extents); the run \
                 time evaluates each cost for the actual extents and runs the cheapest:",
                orders.len(),
                c.enumerated
            );
            for (k, o) in orders.iter().enumerate() {
                let cost: Vec<String> = o.costs.iter().map(|l| extent_product(l)).collect();
                let _ = writeln!(w, "    order {}: cost {}", k + 1, cost.join(" + "));
                for s in &o.steps {
                    let _ = writeln!(w, "      {}", step_line(c, s, &name));
                }
            }
        }
    }
}

fn step_line(c: &Contraction, s: &Step, name: &dyn Fn(usize) -> String) -> String {
    let ins: Vec<String> = s.inputs.iter().map(|&t| spell(&c.tensors[t])).collect();
    let from: Vec<String> = s.inputs.iter().map(|&t| name(t)).collect();
    let mut line = format!(
        "t{} = {}->{} from {}: ",
        s.out,
        ins.join(","),
        spell(&c.tensors[s.out]),
        from.join(" and ")
    );
    let (outer, inner) = match s.loops.split_last() {
        Some((inner, outer)) => (spell(outer), format!("lanes over {inner}")),
        None => (String::new(), "one element".to_owned()),
    };
    let loops = if outer.is_empty() {
        inner
    } else {
        format!(
            "loops {}, {inner}",
            outer
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match &s.gemm {
        Some(g) => {
            let group = |l: &[char]| {
                if l.is_empty() {
                    "-".to_owned()
                } else {
                    spell(l)
                }
            };
            let _ = write!(
                line,
                "GEMM (batch {}, left {}, right {}, summed {}) when m = {}, n = {}, k = {} are each at least 8 \
                 and the elements are f32 or f64, else {loops}",
                group(&g.batch),
                group(&g.left),
                group(&g.right),
                group(&g.summed),
                extent_product(&g.left),
                extent_product(&g.right),
                extent_product(&g.summed)
            );
        }
        None => line.push_str(&loops),
    }
    line
}

/// `G,...->labels`: the gradient einsum of one operand, spelled.
fn grad_pattern(g: &GradPlan) -> String {
    let terms: Vec<&str> = g.inputs.iter().map(|t| t.spelling.as_str()).collect();
    format!("\"{}->{}\"", terms.join(","), g.output.spelling)
}

/// Operand `k`'s gradient: its einsum, its steps, and its epilogue.
fn gradient(w: &mut String, plan: &Plan, k: usize, g: &GradPlan) {
    let _ = writeln!(
        w,
        "    operand {k} {}: {} (G in place of operand {k}, output = its labels that the others provide)",
        quoted(&plan.inputs[k].spelling),
        grad_pattern(g)
    );
    let mut names = vec!["G".to_owned()];
    names.extend(g.sources.iter().map(|i| format!("operand {i}")));
    let provided = g.output.distinct();
    if let Some(form) = g.forward_form(plan) {
        let fills: Vec<String> = (form.fills.iter().zip(&form.labels).enumerate())
            .map(|(s, (&j, labels))| {
                let read: String = labels.iter().collect();
                if read == g.inputs[j].spelling {
                    format!("{} as operand {s}", names[j])
                } else {
                    format!("{} read as {} as operand {s}", names[j], quoted(&read))
                }
            })
            .collect();
        let _ = writeln!(
            w,
            "      the forward einsum under other names: runs the forward code on {}",
            fills.join(", ")
        );
    } else if g.sources.is_empty() {
        let _ = writeln!(w, "      one operand: the epilogue reads G in place");
    } else {
        let mut inputs: Vec<Vec<char>> = vec![g.inputs[0].distinct()];
        inputs.extend(g.inputs[1..].iter().map(TermPlan::distinct));
        let c = plan_contraction(&inputs, &provided);
        let mut steps = String::new();
        contraction(&mut steps, &c, &names);
        for line in steps.lines() {
            let _ = writeln!(w, "  {line}");
        }
    }
    let own = g.target.distinct();
    let broadcast: Vec<char> = own
        .iter()
        .copied()
        .filter(|l| !provided.contains(l))
        .collect();
    let diagonal: Vec<char> = own
        .iter()
        .copied()
        .filter(|&l| g.target.chars().filter(|&c| c == l).count() > 1)
        .collect();
    let mut epilogue = Vec::new();
    if !broadcast.is_empty() {
        epilogue.push(format!(
            "broadcast over {} (no other term has it)",
            spell(&broadcast)
        ));
    }
    if !diagonal.is_empty() {
        epilogue.push(format!(
            "written on the diagonal of {} (zero elsewhere)",
            spell(&diagonal)
        ));
    }
    epilogue.push("axes of extent 1 broadcast against a longer extent are summed".to_owned());
    let _ = writeln!(w, "      epilogue: {}", epilogue.join("; "));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::parse_pattern;

    fn text(pattern: &str) -> String {
        explain(&Plan::new(pattern, &parse_pattern(pattern).unwrap()))
    }

    #[test]
    fn matrix_product_names_roles_gemm_and_gradients() {
        let t = text("ij,jk->ik");
        assert!(t.contains("j: summed, in operands 0, 1"), "{t}");
        assert!(
            t.contains("GEMM (batch -, left i, right k, summed j)"),
            "{t}"
        );
        assert!(t.contains("operand 0 \"ij\": \"ik,jk->ij\""), "{t}");
        assert!(t.contains("operand 1 \"jk\": \"ik,ij->jk\""), "{t}");
        assert!(
            t.contains(
                "runs the forward code on G as operand 0, operand 1 read as \"kj\" as operand 1"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "runs the forward code on operand 0 read as \"ji\" as operand 0, G as operand 1"
            ),
            "{t}"
        );
    }

    #[test]
    fn gradients_of_another_form_list_their_own_steps() {
        let t = text("i,j->ij");
        assert!(!t.contains("forward einsum under other names"), "{t}");
        assert!(t.contains("from G and operand 1"), "{t}");
    }

    #[test]
    fn one_operand_gradients_read_g_in_place() {
        let t = text("ij->i");
        assert!(
            t.contains("one operand: the epilogue reads G in place"),
            "{t}"
        );
        assert!(t.contains("broadcast over j"), "{t}");
    }

    #[test]
    fn repeated_and_private_labels_show_in_the_epilogue() {
        let t = text("ii,ab->i");
        assert!(t.contains("i: free, in operand 0 (diagonal)"), "{t}");
        assert!(t.contains("written on the diagonal of i"), "{t}");
        assert!(t.contains("broadcast over ab"), "{t}");
    }

    #[test]
    fn three_operands_list_their_orders_with_costs() {
        let t = text("ij,jk,kl->il");
        assert!(t.contains("2 of the 3 pairwise orders"), "{t}");
        assert!(t.contains("cost |i|·|j|·|k| + |i|·|k|·|l|"), "{t}");
    }

    #[test]
    fn ellipsis_takes_the_executor() {
        assert!(text("...ij,jk->...ik").contains("run-time executor"));
    }
}
