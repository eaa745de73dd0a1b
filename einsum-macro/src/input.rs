//! The macro's tokens: a string literal, then comma-separated operand expressions.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, LitStr, Token};

/// `einsum!("ij,jk->ik", a, b)`: the pattern literal and the operand expressions, in order. A trailing
/// comma is allowed.
pub struct Input {
    pub pattern: LitStr,
    pub operands: Vec<Expr>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(LitStr) {
            return Err(input.error(
                "expected a string literal einsum pattern, such as `\"ij,jk->ik\"`, as the first argument",
            ));
        }
        let pattern: LitStr = input.parse()?;
        let mut operands = Vec::new();
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
            let rest = Punctuated::<Expr, Token![,]>::parse_terminated(input)?;
            operands.extend(rest);
        }
        Ok(Input { pattern, operands })
    }
}
