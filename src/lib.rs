//! Host package of the workspace: integration tests (`tests/`), examples (`examples/`) and benchmarks
//! (`benches/`) of [`einsum_runtime`]. It has no API of its own and is not published.
