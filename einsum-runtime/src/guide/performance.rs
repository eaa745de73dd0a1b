//! # Performance notes
//!
//! This chapter says what makes a call fast or slow; it quotes no timings. Measured numbers, with the
//! commands that produce them and the machine they were taken on, are in the repository's
//! `docs/benchmarks.md`: `cargo bench --bench kernels` compares the generated kernels with ndarray's
//! own routines and hand-written loops, `cargo bench --bench workloads` (with
//! `scripts/compare_numpy.py`) puts each workload beside numpy, opt_einsum, JAX, the
//! `ndarray-einsum` crate and the `gemm` crate called by hand, and `scripts/compile_time.py`
//! measures what the macros cost at compile time.
//!
//! # When a GEMM runs
//!
//! A pairwise step can run as a batched matrix product when its labels form one: at least one label
//! only the left operand has (with the result), one only the right operand has, and one that both
//! have and the result lacks; labels in both operands and the result become the batch. The GEMM is
//! taken at run time, for `f32` and `f64`, when each of the three matrix sides (products of extents:
//! `m`, `n`, `k`) is at least 8.
//! [`einsum_plan!`](crate::einsum_plan) prints this condition for every step (see
//! [what the macro generates](super::generated)).
//!
//! Small products (at most 32³ multiply-adds per matrix of the batch, any sides) run in a
//! register-tiled kernel compiled once in this crate, on x86-64 CPUs with AVX2 and FMA (detected at
//! run time), when their operands and result merge into matrices without a copy: at these sizes
//! the arithmetic costs less than the `gemm` crate's dispatch, and one call less than the generated
//! loops' call per lane. A product with a single result column and a sum longer than 64 (a dot
//! product) keeps the loops, which sum with several accumulators.
//!
//! Larger products run in the `gemm` crate. Code the macro generates gives other element types (integers)
//! the loops: a GEMM route for them would be generic code that every crate calling `einsum!` compiles
//! again. The run-time executor (patterns with `...`) gives them ndarray's general matrix product when
//! `m·n·k` is also at least 32768. Other steps, and small products, run as loops, as do element-wise
//! products, transposes, diagonals and reductions.
//!
//! On x86-64 CPUs with AVX-512F, the `gemm` crate runs its AVX-512 kernels (chosen at run time):
//! this crate's default feature `avx512` enables them. They cost build time once (the `gemm`
//! crates then take more than twice the CPU time to build cold), so a crate that would rather
//! build faster than run large products at AVX-512 speed can depend on `einsum-runtime` with
//! `default-features = false`; the AVX2 kernels then run on every CPU.
//!
//! To get a GEMM, write the contraction so that one step has all three groups. `"bij,bjk->bik"` is a
//! batch of products; `"abc,bcd->ad"` is one product whose summed side is `b` and `c` together; but
//! `"ij,ij->i"` (row-wise dot products) has no left or right label and runs as loops, which is the
//! right choice for it.
//!
//! ```
//! use einsum_runtime::einsum_plan;
//!
//! assert!(einsum_plan!("abc,bcd->ad").contains("GEMM (batch -, left a, right d, summed bc)"));
//! assert!(einsum_plan!("bij,bjk->bik").contains("GEMM (batch b, left i, right k, summed j)"));
//! assert!(!einsum_plan!("ij,ij->i").contains("GEMM"));
//! ```
//!
//! # Threads
//!
//! Large products use [rayon](https://docs.rs/rayon)'s global thread pool: a large batch of
//! matrices is split across the threads, and a single large product lets the `gemm` crate use them.
//! Products below a fixed amount of work stay on the calling thread and never touch the pool. The
//! generated loops are single-threaded.
//!
//! Set `RAYON_NUM_THREADS=1` in the environment to make every call single-threaded, or run calls
//! inside a pool of your own with `ThreadPool::install`. The number of threads changes only the order
//! in which a product's terms are summed, so floating-point results can differ in the last bits (the
//! repository's `tests/threads.rs` compares one and two threads). [`Var`](crate::Var)
//! graphs are single-threaded, but the einsums they run may use the pool.
//!
//! # Layouts
//!
//! Operands are read in place, through their strides: transposed, sliced and stepped views are not
//! copied first. The kernels choose their loop order at compile time for row-major (standard)
//! operands, with the innermost loop over the label most operands have as their last axis, so
//! row-major operands are the fastest to read; other layouts are correct, with more cache misses.
//! A copy whose operand and result are contiguous along different labels (a transpose, or any
//! permutation of axes) is walked by the runtime in square blocks and small tiles, so that neither
//! side is read or written with a long stride for long; on x86-64 CPUs with AVX2 (checked at run
//! time), the tiles of an `f32` or `f64` transpose are transposed in vector registers.
//! A GEMM takes matrices with row and column strides directly (a transposed matrix costs nothing);
//! operands whose axes cannot be merged into matrices this way, or that have negative strides, are
//! packed into a copy once per step. The result is always a new row-major array.
//!
//! A result of 4 MiB or more is allocated with the advice to back it with transparent huge pages
//! (`madvise(MADV_HUGEPAGE)` on Linux, as NumPy does for its large arrays): such memory is often
//! freshly mapped on every call, and faulting it in 2 MiB at a time instead of 4 KiB halved the time
//! of a 2048² `f64` transpose on the machine of `docs/benchmarks.md`. Where huge pages are disabled
//! (`/sys/kernel/mm/transparent_hugepage/enabled` set to `never`) the advice changes nothing.
//!
//! Sums and dot products over contiguous `f32`/`f64` lanes run in 256-bit registers (512-bit ones
//! where the CPU has AVX-512F) with several accumulators; a pattern that sums everything (`"ij->"`,
//! `"ij,ij->"`) of contiguous operands is one such lane. A lane of 32 KiB or more is read as four
//! streams, its quarters in lock-step, which keeps more memory requests in flight than one
//! sequential pass. Lanes longer than a few thousand elements are summed pairwise (in blocks whose
//! sums are added in halves), so the rounding error of a long `f32` sum grows with the logarithm of
//! its length, not with the length (at no cost measurable in `docs/benchmarks.md`).
//!
//! A step that sums nothing (an elementwise, broadcast or outer product) of `f32`/`f64` operands
//! writes its result once, row by row, with aligned 256-bit stores on CPUs with AVX, and asks for
//! each cache line of the result 2 KiB before it stores into it: a result that is only written
//! would otherwise wait for every line it misses.
//!
//! If one operand is used by many calls in a layout the kernels read badly, converting it once with
//! [`as_standard_layout`](ndarray::ArrayRef::as_standard_layout) can pay.
//!
//! # The allocator, in training loops
//!
//! Every call returns a new array, and the closure of [`einsum_vjp!`](crate::einsum_vjp) returns new
//! gradients. A loop that allocates and frees arrays of a few hundred KiB at every step (a forward
//! pass and its gradients, say) can meet glibc's `malloc` giving the top of its heap back to the
//! kernel at each free and taking it again at the next allocation, so that every page of those
//! arrays is faulted in anew at every step. On the machine of `docs/benchmarks.md` (section 1), the
//! product of two 256x256 `f64` matrices, elementwise, with its two gradients took 0.87 ms a step
//! instead of 62 µs; the same three products written with ndarray's operators took as long. This is
//! the application's allocator, not the kernels: raising glibc's two thresholds in the environment
//! (`MALLOC_TRIM_THRESHOLD_=134217728 MALLOC_MMAP_THRESHOLD_=134217728`), or installing another
//! global allocator, removes it. The crate does not change the allocator, which is the
//! application's choice.
//!
//! # Many operands
//!
//! With three or four operands, the generated code picks the cheapest pairwise order for the actual
//! extents, so one pattern stays efficient as shapes change (a chain of matrices is multiplied
//! thin-side first). Five or more operands, or `...`, take the run-time executor, which plans the
//! order on every call: optimally up to eight tensors, greedily beyond. Planning reads only the
//! labels and extents, so it matters only when the operands are tiny; in a hot loop over tiny
//! operands, splitting a long pattern into calls of at most four operands keeps to generated code.
//! [`einsum_path`](crate::einsum_path) shows the executor's order and its cost.
//!
//! # Compile time
//!
//! Every call site is expanded separately, and it includes the gradient kernels of every operand
//! (they are used when an operand is a [`Var`](crate::Var)). rustc type-checks and borrow-checks
//! them at every call, but an `einsum!` whose operands are arrays never has them optimized or
//! compiled to machine code. Code size grows with the number of
//! operands: a three-operand pattern carries up to 3 candidate orders for the forward pass and for
//! each gradient, a four-operand one up to 15 (only the orders that can be the cheapest for some
//! extents are generated; a chain of three matrices has 2). Patterns with `...` or five or more operands expand to a small
//! table for the executor instead. If compile time matters, wrap a pattern used in many places in a
//! function and call that. `scripts/compile_time.py` in the repository measures the cost per call;
//! its results are in `docs/benchmarks.md`.
