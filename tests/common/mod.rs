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
//! - [`checks`]: the per-pattern checks of `numeric`, `gradients` and `zero_extents`;
//! - [`autograd`]: `gradcheck` at the suite's settings for the tests of `Var` ops.
//!
//! The pattern table (`patterns.rs`) is not a module: `numeric` and `gradients` `include!` it.
//!
//! Every test binary that declares `mod common;` compiles all of these modules but uses only the part
//! it needs, so an item one binary leaves unused is not dead code: each module below allows
//! `dead_code` with the reason, naming the binaries that use it. An item that no binary uses is
//! deleted, not allowed.

#[allow(
    dead_code,
    reason = "autograd_ops and shape_ops use it; other test binaries compile it unused"
)]
pub mod autograd;

#[allow(
    dead_code,
    reason = "every test binary compiles it and uses some of it: all the forms of `Tol`, `Scale` \
              and the reference comparisons are used by some binary"
)]
pub mod assert;

#[allow(
    dead_code,
    reason = "numeric, gradients, zero_extents and layouts_prop use it, each a part; other test \
              binaries compile it unused"
)]
pub mod checks;

#[allow(
    dead_code,
    reason = "numeric, gradients, zero_extents and layouts_prop use it; other test binaries \
              compile it unused"
)]
pub mod elem;

#[allow(
    dead_code,
    reason = "gradients, layouts_prop, zero_extents and graphs use it, each a part; other test \
              binaries compile it unused"
)]
pub mod finite_diff;

#[allow(
    dead_code,
    reason = "numeric, layouts_prop and zero_extents use it; other test binaries compile it unused"
)]
pub mod layouts;

#[allow(
    dead_code,
    reason = "the pattern-table tests use all of it, random_graphs only the parser; other test \
              binaries compile it unused"
)]
pub mod reference;

#[allow(
    dead_code,
    reason = "every test binary that draws random values uses it, each a few of its methods"
)]
pub mod rng;

#[allow(
    dead_code,
    reason = "numeric and zero_extents use it; other test binaries compile it unused"
)]
pub mod shapes;
