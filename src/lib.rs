//! Host package of the workspace: integration tests (`tests/`), examples (`examples/`) and benchmarks
//! (`benches/`) of `einsum_runtime`. It has no API of its own and is not published; its crate
//! documentation is the README, so that the README's examples are compiled and run as doctests.
#![doc = include_str!("../README.md")]
#![doc(test(attr(deny(warnings))))]
