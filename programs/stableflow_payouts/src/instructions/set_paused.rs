//! `set_paused(paused: bool)`: stops or resumes split execution (deposits and withdrawals
//! stay open).

use crate::abi::{AccountSpec, FieldSpec, FieldType, InstructionSpec};
use crate::discriminator;
use crate::error::PayoutError;
use crate::events::PausedChanged;
use crate::instructions::Invocation;
use crate::instructions::load_treasury_mut;
use pinocchio::address::address_eq;
use pinocchio::ProgramResult;

pub const NAME: &str = "set_paused";
pub const DISCRIMINATOR: [u8; 8] = discriminator::instruction(NAME);

/// Accounts:
///   0. `[signer]` authority — the treasury authority
///   1. `[writable]` treasury
///
/// Data: discriminator (8) · paused `bool` (one byte, 0 or 1).
pub const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec::new("authority", false, true, "The treasury authority"),
    AccountSpec::new("treasury", true, false, "Treasury to pause or resume"),
];
pub const ARGS: &[FieldSpec] = &[FieldSpec { name: "paused", ty: FieldType::Bool }];
pub const SPEC: InstructionSpec = InstructionSpec {
    name: NAME,
    docs: "Pause or resume split execution.",
    discriminator: DISCRIMINATOR,
    accounts: ACCOUNTS,
    args: ARGS,
};

/// Borsh `bool`: exactly one byte, 0 or 1.
pub fn parse(data: &[u8]) -> Result<bool, PayoutError> {
    match data {
        [0] => Ok(false),
        [1] => Ok(true),
        _ => Err(PayoutError::InvalidInstructionData),
    }
}

#[inline(never)]
pub fn process(ix: Invocation) -> ProgramResult {
    let Invocation { program_id, accounts, data } = ix;
    let paused = parse(data)?;
    let [authority, treasury_account, ..] = accounts else {
        return Err(PayoutError::NotEnoughAccounts.into());
    };
    if !authority.is_signer() {
        return Err(PayoutError::AuthorityMustSign.into());
    }
    let treasury_address = treasury_account.address().clone();
    let treasury = load_treasury_mut(treasury_account, program_id)?;
    if !address_eq(authority.address(), &treasury.authority) {
        return Err(PayoutError::Unauthorized.into());
    }
    treasury.set_paused(paused);

    PausedChanged { treasury: treasury_address, paused }.emit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_borsh_bool() {
        assert_eq!(parse(&[0]), Ok(false));
        assert_eq!(parse(&[1]), Ok(true));
    }

    #[test]
    fn error_non_canonical_bool_truncated_or_trailing() {
        assert_eq!(parse(&[2]), Err(PayoutError::InvalidInstructionData));
        assert_eq!(parse(&[]), Err(PayoutError::InvalidInstructionData));
        assert_eq!(parse(&[1, 0]), Err(PayoutError::InvalidInstructionData));
    }
}
