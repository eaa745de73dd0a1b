//! Compile-time behaviour of the macros: each mistake under `tests/ui/{pattern,operands}` must fail with
//! exactly the reviewed diagnostic in its `.stderr`; the unusual valid forms under `tests/ui/pass` must
//! compile and run.
//!
//! Compiler output drifts between releases, so the error cases are pinned to the toolchain CI uses.

#[rustversion::attr(not(stable(1.95)), ignore = "diagnostics are pinned to Rust 1.95")]
#[test]
fn compile_fail_and_pass_cases() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/pattern/*.rs");
    t.compile_fail("tests/ui/operands/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
