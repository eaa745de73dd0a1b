// The pattern table shared by `tests/numeric.rs` and `tests/gradients.rs` (both `include!` this file).
//
// `with_patterns!(callback)` expands to `callback! { name: "pattern" [operand indices] big "..."; ... }`.
// The index list `[0 1 2]` gives the operand count (the callback calls the macro with `ops[0], ops[1],
// ops[2]`); the optional `big "i=40 j=40 k=40"` adds draws with those extents fixed (GEMM path:
// m, n, k >= 8 for f32 and f64, and m*n*k >= 32768 for other element types in the executor).

#[allow(unused_macros)]
macro_rules! with_patterns {
    ($callback:ident) => {
        $callback! {
            // ---- one operand: identity, permutations, reductions
            identity: "ij->ij" [0];
            transpose: "ij->ji" [0];
            implicit_identity: "ij" [0];
            implicit_transpose: "ji" [0];
            vector_identity: "i->i" [0];
            vector_implicit: "i" [0];
            vector_sum: "i->" [0];
            sum_all: "ij->" [0];
            row_sum: "ij->i" [0];
            column_sum: "ij->j" [0];
            perm3_kij: "ijk->kij" [0];
            perm3_jki: "ijk->jki" [0];
            perm3_reverse: "ijk->kji" [0];
            perm3_implicit: "kji" [0];
            perm4: "ijkl->ljki" [0];
            perm4_reverse: "ijkl->lkji" [0];
            reduce_middle: "ijk->ik" [0];
            reduce_to_middle: "ijk->j" [0];
            reduce_and_transpose: "ijk->ki" [0];
            reduce4: "ijkl->il" [0];
            sum3: "ijk->" [0];
            sum4: "ijkl->" [0];
            rank7_reverse: "abcdefg->gfedcba" [0];
            rank10_reverse: "abcdefghij->jihgfedcba" [0];
            rank10_implicit_partial: "jihgfedcbaa" [0];
            // ---- repeated labels in one operand
            trace: "ii->" [0];
            trace_implicit: "ii" [0];
            diagonal: "ii->i" [0];
            diagonal3: "iii->i" [0];
            trace3: "iii->" [0];
            diagonal_ijij: "ijij->ij" [0];
            diagonal_ijji: "ijji->ji" [0];
            partial_diagonal: "iij->ij" [0];
            partial_diagonal_sum: "iij->j" [0];
            partial_diagonal_implicit: "iij" [0];
            split_diagonal: "iji->ij" [0];
            diagonal_then_transpose: "jii->ij" [0];
            // ---- 0-d operands
            scalar_identity: "->" [0];
            scalar_times_matrix: ",ij->ij" [0 1];
            scalar_times_scalar: ",->" [0 1];
            scalar_implicit: "," [0 1];
            vector_times_scalar: "i,->i" [0 1];
            scalar_dot_vector: ",i->" [0 1];
            scalar_matrix_implicit: ",ij" [0 1];
            matrix_scalar_transpose: "ij,->ji" [0 1];
            three_scalars: ",,->" [0 1 2];
            // ---- spaces
            spaces_matmul: " ij , jk -> ik " [0 1];
            spaces_transpose: "i j->j i" [0];
            spaces_ellipsis: "... ij , ... jk -> ... ik" [0 1];
            spaces_implicit: "ij, jk" [0 1];
            spaces_scalar: " , ij -> ji" [0 1];
            // ---- upper-case labels
            upper_matmul: "IJ,JK->IK" [0 1];
            mixed_case_matmul: "iJ,Jk->ik" [0 1];
            case_distinct: "aA,Aa->" [0 1];
            case_outer: "a,A->aA" [0 1];
            upper_implicit_order: "ab,bC" [0 1];
            upper_implicit_order2: "Zb,bA" [0 1];
            upper_transpose_implicit: "bA" [0];
            upper_trace: "II->" [0];
            upper_mixed_diagonal: "iIi->Ii" [0];
            upper_batch: "Bij,Bjk->Bik" [0 1];
            upper_outer_implicit: "I,i" [0 1];
            // ---- ellipsis, one operand
            ellipsis_identity: "...->..." [0];
            ellipsis_sum: "...->" [0];
            ellipsis_implicit: "..." [0];
            ellipsis_trailing_sum: "...i->..." [0];
            ellipsis_leading_label: "i...->i" [0];
            ellipsis_middle: "i...j->ij" [0];
            ellipsis_middle_kept: "i...j->j...i" [0];
            ellipsis_to_front: "i...->...i" [0];
            ellipsis_to_back: "...i->i..." [0];
            ellipsis_implicit_labels: "...ji" [0];
            ellipsis_implicit_leading: "ba..." [0];
            ellipsis_diagonal: "...ii->...i" [0];
            ellipsis_trace: "ii...->..." [0];
            ellipsis_trace_implicit: "...ii" [0];
            ellipsis_batch_transpose: "...ij->...ji" [0];
            ellipsis_row_sum: "...ij->...i" [0];
            ellipsis_keep_labels: "...ij->ij" [0];
            ellipsis_around_diagonal: "i...i->i..." [0];
            // ---- two operands: matrix products
            matmul: "ij,jk->ik" [0 1] big "i=40 j=40 k=40";
            matmul_implicit: "ij,jk" [0 1];
            matmul_bt: "ij,kj->ik" [0 1] big "i=33 j=40 k=36";
            matmul_at: "ji,jk->ik" [0 1] big "i=32 j=48 k=24";
            matmul_atbt: "ji,kj->ik" [0 1] big "i=24 j=40 k=40";
            matmul_out_t: "ij,jk->ki" [0 1] big "i=40 j=32 k=28";
            matmul_gram: "ij,ik->jk" [0 1] big "i=40 j=32 k=32";
            matmul_outer_gram: "ik,jk->ij" [0 1] big "i=32 j=40 k=32";
            matmul_sum: "ij,jk->" [0 1];
            matmul_row: "ij,jk->i" [0 1];
            matmul_keep_inner: "ij,jk->ijk" [0 1];
            matmul_keep_inner_perm: "ij,jk->jik" [0 1];
            matvec: "ij,j->i" [0 1];
            vecmat: "i,ij->j" [0 1];
            matvec_implicit: "ij,j" [0 1];
            column_scale: "ij,i->ij" [0 1];
            row_scale: "ij,j->ij" [0 1];
            weighted_column_sum: "ij,i->j" [0 1];
            dot: "i,i->" [0 1];
            dot_implicit: "i,i" [0 1];
            hadamard: "ij,ij->ij" [0 1];
            hadamard_transposed: "ij,ji->ij" [0 1];
            hadamard_sum: "ij,ij->" [0 1];
            frobenius_implicit: "ij,ij" [0 1];
            trace_of_product: "ij,ji->" [0 1];
            trace_of_product_implicit: "ij,ji" [0 1];
            hadamard_row_sum: "ij,ij->i" [0 1];
            diagonal_of_product: "ab,ba->a" [0 1];
            outer: "i,j->ij" [0 1];
            outer_implicit: "i,j" [0 1];
            outer_reversed: "i,j->ji" [0 1];
            outer_implicit_order: "j,i" [0 1];
            outer_matrix_vector: "ij,k->ijk" [0 1];
            outer_matrices: "ij,kl->ijkl" [0 1];
            outer_permuted: "ij,kl->ljik" [0 1];
            outer_partial_sums: "ij,kl->ik" [0 1];
            private_labels: "ij,k->ik" [0 1];
            private_all_summed: "ij,kl->" [0 1];
            // ---- batched products and tensor contractions
            bmm: "bij,bjk->bik" [0 1] big "b=3 i=32 j=32 k=32";
            bmm_implicit: "bij,bjk" [0 1];
            bmm_bt: "bij,bkj->bik" [0 1] big "b=2 i=40 j=24 k=40";
            bmm_batch_last: "ijb,jkb->ikb" [0 1] big "b=2 i=32 j=32 k=32";
            bmm_output_permuted: "bij,bjk->kbi" [0 1];
            attention_scores: "bhqd,bhkd->bhqk" [0 1] big "b=2 h=2 q=32 k=32 d=32";
            attention_values: "bhqk,bhkd->bhqd" [0 1] big "b=2 h=2 q=32 k=32 d=32";
            batch_dot: "bi,bi->b" [0 1];
            batch_outer: "bi,bj->bij" [0 1];
            batch_matvec: "bij,bj->bi" [0 1];
            shared_matrix_batch: "bij,jk->bik" [0 1] big "b=2 i=32 j=32 k=32";
            tensordot: "ijk,jkl->il" [0 1] big "i=32 j=8 k=8 l=32";
            tensordot_permuted: "ijk,kjl->li" [0 1];
            bilinear_partial: "ijk,jk->i" [0 1];
            contract_all3: "ijk,ijk->" [0 1];
            hadamard3: "ijk,ijk->ijk" [0 1];
            contract_mixed: "ijk,kil->jl" [0 1];
            contract_transposed_pair: "ijk,ikj->jk" [0 1];
            four_label_contract: "abcd,cdef->abef" [0 1];
            // ---- repeated labels across operands
            diagonal_times_vector: "ii,i->i" [0 1];
            diagonal_row: "ii,ij->j" [0 1];
            diagonal_then_matmul: "iij,jk->ik" [0 1];
            two_diagonals_outer: "ii,jj->ij" [0 1];
            two_diagonals_dot: "ii,ii->" [0 1];
            diagonal_implicit: "ii,jk" [0 1];
            repeated_in_both: "iji,jkk->ik" [0 1];
            // ---- ellipsis with two operands (operands draw different ellipsis ranks)
            ellipsis_matmul: "...ij,...jk->...ik" [0 1];
            ellipsis_matmul_implicit: "...ij,...jk" [0 1];
            ellipsis_matmul_summed: "...ij,...jk->ik" [0 1];
            ellipsis_dot: "...i,...i->..." [0 1];
            ellipsis_dot_implicit: "...i,...i" [0 1];
            ellipsis_vector: "...i,i->..." [0 1];
            ellipsis_leading_dot: "i...,i...->..." [0 1];
            ellipsis_shared_matrix: "...ij,jk->...ik" [0 1];
            ellipsis_trailing: "ij...,jk...->ik..." [0 1];
            ellipsis_elementwise: "...,...->..." [0 1];
            ellipsis_scale: "...,->..." [0 1];
            ellipsis_middle_matmul: "i...j,j...k->i...k" [0 1];
            ellipsis_diagonal_product: "...ii,...i->...i" [0 1];
            ellipsis_outer: "a...,b...->...ab" [0 1];
            ellipsis_one_side: "...i,ij->...j" [0 1];
            ellipsis_other_side: "ij,...j->...i" [0 1];
            ellipsis_summed_both: "...i,...i->" [0 1];
            ellipsis_upper: "...Ij,...jK->...IK" [0 1];
            ellipsis_batch_outer: "...i,...j->...ij" [0 1];
            // ---- three operands
            // The cheapest pair goes first, so every pair must be large for a step to use GEMM.
            chain3: "ij,jk,kl->il" [0 1 2] big "i=8 j=64 k=64 l=8";
            chain3_implicit: "ij,jk,kl" [0 1 2];
            triple_dot: "i,i,i->" [0 1 2];
            triple_outer: "i,j,k->ijk" [0 1 2];
            triple_hadamard: "ij,ij,ij->ij" [0 1 2];
            bilinear_form: "i,ij,j->" [0 1 2];
            vector_in_middle: "ij,j,jk->ik" [0 1 2];
            bmm3: "bij,bjk,bkl->bil" [0 1 2];
            tucker: "ijk,il,jm->lmk" [0 1 2];
            nested_sums: "a,ab,abc->c" [0 1 2];
            diagonal_cross: "ii,ij,jj->ij" [0 1 2];
            scalar_chain: ",ij,j->i" [0 1 2];
            ellipsis3: "...i,...i,...i->..." [0 1 2];
            ellipsis_chain: "...ij,jk,kl->...il" [0 1 2];
            ellipsis_three_elementwise: "...,...,...->..." [0 1 2];
            mixed_case3: "aB,Bc,cD->aD" [0 1 2];
            implicit_upper3: "Ab,bc,cD" [0 1 2];
            trace_of_triple: "ij,jk,ki->" [0 1 2];
            diagonal_of_triple: "ij,jk,ki->i" [0 1 2];
            triple_diagonal: "ii,ii,ii->i" [0 1 2];
            outer_to_rank6: "ab,cd,ef->abcdef" [0 1 2];
            bilinear_batch: "bn,anm,bm->ba" [0 1 2];
            // ---- four operands
            chain4: "ij,jk,kl,lm->im" [0 1 2 3];
            outer4: "a,b,c,d->abcd" [0 1 2 3];
            cycle4: "ab,bc,cd,da->" [0 1 2 3];
            quadratic_form: "ij,kl,ik,jl->" [0 1 2 3];
            four_vectors: "i,i,i,i->i" [0 1 2 3];
            four_ellipsis: "...a,...a,a,a->..." [0 1 2 3];
            two_outers_summed: "i,i,j,j->ij" [0 1 2 3];
            four_hadamard_sum: "ij,ij,ij,ij->" [0 1 2 3];
            // ---- five operands
            chain5: "ab,bc,cd,de,ef->af" [0 1 2 3 4];
            five_dot: "a,a,a,a,a->" [0 1 2 3 4];
            star5: "ab,ac,ad,ae,af->bcdef" [0 1 2 3 4];
            five_with_scalar: "ij,jk,,k,kl->il" [0 1 2 3 4];
            // ---- six operands
            chain6: "ij,jk,kl,lm,mn,no->io" [0 1 2 3 4 5];
            six_sums: "a,b,c,d,e,f->" [0 1 2 3 4 5];
            six_outer: "a,b,c,d,e,f->abcdef" [0 1 2 3 4 5];
            // ---- seven operands
            chain7: "ab,bc,cd,de,ef,fg,gh->ah" [0 1 2 3 4 5 6];
            seven_vectors: "i,i,i,i,i,i,i->i" [0 1 2 3 4 5 6];
            seven_outer: "a,b,c,d,e,f,g->abcdefg" [0 1 2 3 4 5 6];
            cycle7: "ab,bc,cd,de,ef,fg,ga->" [0 1 2 3 4 5 6];
            seven_ellipsis: "...a,a,...,b,b...,c,c->..." [0 1 2 3 4 5 6];
            seven_mixed_case: "aA,Ab,bB,Bc,cC,Cd,dD->aD" [0 1 2 3 4 5 6];
            seven_implicit: "ab,bc,cd,de,ef,fg,gh" [0 1 2 3 4 5 6];
        }
    };
}
