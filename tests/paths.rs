//! Contraction orders against opt_einsum: for chain, star and matrix-product-state networks, the flops
//! of `einsum_path`'s order are compared with opt_einsum 3.4.0's `greedy`, `dp` and (up to 8
//! operands) `optimal` orders, recorded in `tests/fixtures/paths.json` by `scripts/path_fixture.py`.
//!
//! Both sides count flops the same way (opt_einsum's `flop_count`: per step, the product of the
//! extents of the labels it touches, times 2 if it sums a label away), so costs compare directly. The
//! bounds: never worse than opt_einsum's greedy, as cheap as opt_einsum's brute-force optimal up to 8
//! operands (where the planner searches by dynamic programming), and within [`GREEDY_FACTOR`] of the best known order beyond.

use einsum_runtime::{einsum, einsum_path};
use ndarray::{ArrayD, Dimension, IxDyn};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/paths.json");

/// Beyond 8 operands the planner is greedy; on these networks it stays within this factor of the
/// best order opt_einsum knows (measured worst: see `greedy_is_near_the_best_known_order`).
const GREEDY_FACTOR: f64 = 3.5;

struct Network {
    name: String,
    pattern: String,
    shapes: Vec<Vec<usize>>,
    greedy: f64,
    best: f64,
    optimal: Option<f64>,
    naive: f64,
}

fn networks() -> Vec<Network> {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("paths.json is valid JSON");
    let cost = |net: &Value, optimizer: &str| net["optimizers"][optimizer]["opt_cost"].as_f64();
    fixture["networks"]
        .as_array()
        .expect("a list of networks")
        .iter()
        .map(|net| {
            let shapes = net["shapes"]
                .as_array()
                .expect("shapes")
                .iter()
                .map(|s| {
                    let dims = s.as_array().expect("a shape");
                    dims.iter()
                        .map(|d| d.as_u64().expect("an extent") as usize)
                        .collect()
                })
                .collect();
            let greedy = cost(net, "greedy").expect("greedy cost");
            let dp = cost(net, "dp").expect("dp cost");
            let optimal = cost(net, "optimal");
            Network {
                name: net["name"].as_str().expect("name").to_owned(),
                pattern: net["pattern"].as_str().expect("pattern").to_owned(),
                shapes,
                greedy,
                best: optimal.unwrap_or(dp).min(dp).min(greedy),
                optimal,
                naive: net["naive_cost"].as_f64().expect("naive cost"),
            }
        })
        .collect()
}

fn flops(net: &Network) -> f64 {
    let shapes: Vec<&[usize]> = net.shapes.iter().map(Vec::as_slice).collect();
    einsum_path(&net.pattern, &shapes)
        .unwrap_or_else(|e| panic!("{}: {e}", net.name))
        .flops()
}

#[test]
fn fixture_covers_chains_stars_and_mps() {
    let nets = networks();
    assert!(nets.len() >= 15);
    for kind in ["chain", "tucker", "star", "hub", "mps", "mpo"] {
        assert!(nets.iter().any(|n| n.name.starts_with(kind)), "{kind}");
    }
    assert!(nets.iter().any(|n| n.shapes.len() >= 14));
}

#[test]
fn naive_counts_match_opt_einsum() {
    for net in networks() {
        let shapes: Vec<&[usize]> = net.shapes.iter().map(Vec::as_slice).collect();
        let path = einsum_path(&net.pattern, &shapes).unwrap();
        assert_eq!(path.naive_flops(), net.naive, "{}", net.name);
    }
}

#[test]
fn never_worse_than_opt_einsum_greedy() {
    let mut worst = (0.0f64, String::new());
    for net in networks() {
        let ratio = flops(&net) / net.greedy;
        assert!(ratio <= 1.0, "{}: {ratio:.3} × opt_einsum greedy", net.name);
        if ratio > worst.0 {
            worst = (ratio, net.name.clone());
        }
    }
    println!(
        "worst ratio to opt_einsum greedy: {:.3} ({})",
        worst.0, worst.1
    );
}

#[test]
fn optimal_up_to_eight_operands() {
    for net in networks().iter().filter(|n| n.shapes.len() <= 8) {
        let optimal = net
            .optimal
            .expect("the fixture has `optimal` up to 8 operands");
        assert!(
            flops(net) <= optimal,
            "{}: {} > {optimal}",
            net.name,
            flops(net)
        );
    }
}

#[test]
fn greedy_is_near_the_best_known_order() {
    let mut worst = (0.0f64, String::new());
    for net in networks() {
        let ratio = flops(&net) / net.best;
        println!(
            "{:>16} ({:>2} operands): {:>9} flops, {ratio:.3} × best known, {:.3} × opt_einsum greedy",
            net.name,
            net.shapes.len(),
            flops(&net),
            flops(&net) / net.greedy
        );
        assert!(ratio <= GREEDY_FACTOR, "{}: {ratio:.3} × best", net.name);
        if ratio > worst.0 {
            worst = (ratio, net.name.clone());
        }
    }
    println!(
        "worst ratio to the best known order: {:.3} ({})",
        worst.0, worst.1
    );
}

/// The order `einsum!` runs is the one `einsum_path` reports, and it computes the same value as a
/// left-to-right chain of pairwise calls.
#[test]
fn mps_inner_product_runs_in_the_reported_order() {
    let net = networks()
        .into_iter()
        .find(|n| n.name == "mps-6")
        .expect("mps-6 is in the fixture");
    let arrays: Vec<ArrayD<f64>> = (net.shapes.iter().enumerate())
        .map(|(k, s)| {
            ArrayD::from_shape_fn(IxDyn(s), |ix| {
                let h = ix
                    .slice()
                    .iter()
                    .fold(k as u64 + 1, |h, &i| h * 31 + i as u64);
                ((h * 2654435761) % 1000) as f64 / 500.0 - 1.0
            })
        })
        .collect();
    let [a1, a2, a3, a4, a5, a6, b1, b2, b3, b4, b5, b6] = &arrays[..] else {
        panic!("mps-6 has 12 operands")
    };
    assert_eq!(net.pattern, "ag,gbh,hci,idj,jek,kf,al,lbm,mcn,ndo,oep,pf->");
    let whole = einsum!(
        "ag,gbh,hci,idj,jek,kf,al,lbm,mcn,ndo,oep,pf->",
        a1,
        a2,
        a3,
        a4,
        a5,
        a6,
        b1,
        b2,
        b3,
        b4,
        b5,
        b6
    )
    .into_scalar();
    let mut env: ArrayD<f64> = einsum!("ag,al->gl", a1, b1).into_dyn();
    for (x, y) in [(a2, b2), (a3, b3), (a4, b4), (a5, b5)] {
        let half: ArrayD<f64> = einsum!("gl,gbh->lbh", env, x).into_dyn();
        env = einsum!("lbh,lbm->hm", half, y).into_dyn();
    }
    let chain = einsum!("kp,kf,pf->", env, a6, b6).into_scalar();
    assert!(
        (whole - chain).abs() <= 1e-9 * (1.0 + chain.abs()),
        "{whole} vs {chain}"
    );
}
