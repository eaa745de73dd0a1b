//! The expansions must work in any scope and never cause warnings in users' crates: every runtime
//! path is absolute (`::einsum_runtime::__private`, `::core`), and every local the macro introduces is
//! hygienic. This file shadows the names an expansion might lean on and denies all warnings, including
//! clippy's pedantic group (checked by `cargo clippy --all-targets`).
#![deny(warnings, clippy::pedantic)]

mod shadowing {
    #![allow(dead_code, non_camel_case_types, clippy::upper_case_acronyms)]
    // Short names are the point: `i` and `j` are also the pattern's labels.
    #![allow(clippy::many_single_char_names)]

    use ::einsum_runtime::{einsum, einsum_vjp, try_einsum, Var};

    // Names that generated code must not resolve to whatever the user's scope holds.
    struct Result;
    struct Ok;
    struct Err;
    struct Option;
    struct Some;
    struct None;
    struct Array2;
    struct Array;
    struct Vec;
    struct IxDyn;
    mod ndarray {}
    mod core {}
    mod std {}
    mod einsum_runtime {}
    #[allow(non_upper_case_globals)]
    const __EINSUM_SPEC: u8 = 0;

    #[test]
    fn expansions_use_only_absolute_paths_and_hygienic_locals() {
        let i = 2_usize;
        let j = 3_usize;
        let __einsum_op0 = "a user's local with the macro's name";
        let a = ::ndarray::Array::from_shape_fn((i, j), |(r, c)| {
            f64::from(u32::try_from(r * j + c).unwrap())
        });
        let b = a.t().to_owned();
        let c = einsum!("ij,jk->ik", a, b);
        assert_eq!(c, a.dot(&b));
        let r = try_einsum!("ij,jk->ik", a, b);
        assert!(r.is_ok());
        let (z, back) = einsum_vjp!("ij,ij->", a, a);
        let (ga, _) = back(&z);
        assert_eq!(ga, &a * z.into_scalar());
        let v = Var::new(a.clone().into_dyn());
        let s = einsum!("ij->", v);
        s.backward();
        assert!(v.grad().is_some());
        // Operands that mention the shadowed names are the user's, and resolve in the user's scope.
        let i_view = a.view();
        let t = einsum!("ji->ij", i_view);
        assert_eq!(t, a.t());
        assert_eq!(__einsum_op0.len(), 36);
        let _ = (
            Result,
            Ok,
            Err,
            Option,
            Some,
            None,
            Array2,
            Array,
            Vec,
            IxDyn,
            __EINSUM_SPEC,
        );
    }
}

#[test]
fn each_operand_expression_is_evaluated_exactly_once() {
    use std::cell::Cell;
    let calls = Cell::new(0);
    let a = ndarray::Array2::<f64>::eye(3);
    let operand = || {
        calls.set(calls.get() + 1);
        a.view()
    };
    let c = einsum_runtime::einsum!("ij,jk,kl->il", operand(), operand(), operand());
    assert_eq!(c, a);
    assert_eq!(calls.get(), 3);
}
