//! Helpers shared by the integration tests, one file per concern:
//!
//! - [`rng`]: the suite's one random-number generator (seeded xorshift64*) and seeds from names;
//! - [`reference`]: the reference einsum, written from scratch (its own pattern parser, one loop over
//!   every index tuple) and sharing no code with `einsum-macro` or `einsum-runtime`;
//! - [`elem`]: the element types the tests draw and compare, and conversions between them;
//! - [`shapes`]: random shapes consistent with a pattern;
//! - [`layouts`]: memory layouts of a logical array (C, F, transposed, stepped, negative strides) and
//!   zero-stride views;
//! - [`assert`]: comparisons, with the suite's one tolerance rule
//!   `|got - want| <= max(atol, rtol * scale)`;
//! - [`finite_diff`]: central finite differences, of any function and of the einsum objective;
//! - [`checks`]: the per-pattern checks of `numeric`, `gradients` and `zero_extents`, and the
//!   fixed-shape check of `small_products`, `long_lanes` and `transposes`;
//! - [`autograd`]: `gradcheck` at the suite's settings for the tests of `Var` ops;
//! - [`panics`]: the file and line a panic reports.
//!
//! The pattern table (`patterns.rs`) is not a module: `numeric` and `gradients` `include!` it.
//!
//! Every test binary that declares `mod common;` compiles all of these modules but uses only the part
//! it needs, so an item one binary leaves unused is not dead code: each module below allows
//! `dead_code` with the reason, naming the binaries that use it. An item that no binary uses is
//! deleted, not allowed: with these `allow`s removed, every `dead_code` warning of one test binary
//! must name an item that another binary uses.

#[allow(
    dead_code,
    reason = "attention, autograd_ops, gradients, graphs, layouts_prop, numeric, seed_network, \
              shape_ops, threads and zero_extents use it, each a part; the other test binaries \
              compile it unused"
)]
pub mod assert;

#[allow(
    dead_code,
    reason = "autograd_ops and shape_ops use it; the other test binaries compile it unused"
)]
pub mod autograd;

#[allow(
    dead_code,
    reason = "gradients, layouts_prop, long_lanes, numeric, seed_network, small_products, \
              transposes and zero_extents use it, each a part; the other test binaries compile it \
              unused"
)]
pub mod checks;

#[allow(
    dead_code,
    reason = "gradients, layouts_prop, numeric and zero_extents use it, each a part; the other \
              test binaries compile it unused"
)]
pub mod elem;

#[allow(
    dead_code,
    reason = "gradients, graphs, layouts_prop, numeric and zero_extents use it, each a part; the \
              other test binaries compile it unused"
)]
pub mod finite_diff;

#[allow(
    dead_code,
    reason = "gradients, layouts_prop, numeric and zero_extents use it, each a part; the other \
              test binaries compile it unused"
)]
pub mod layouts;

#[allow(
    dead_code,
    reason = "autograd_ops, hostile and shape_ops use it; the other test binaries compile it unused"
)]
pub mod panics;

#[allow(
    dead_code,
    reason = "gradients, layouts_prop, numeric and zero_extents use it; random_graphs only its \
              parser; the other test binaries compile it unused"
)]
pub mod reference;

#[allow(
    dead_code,
    reason = "autograd_ops, gradients, layouts_prop, numeric, random_graphs, shape_ops, \
              stale_gradients, threads and zero_extents use it, each a few methods; the other test \
              binaries compile it unused"
)]
pub mod rng;

#[allow(
    dead_code,
    reason = "gradients, numeric and zero_extents use it, each a part; the other test binaries \
              compile it unused"
)]
pub mod shapes;
