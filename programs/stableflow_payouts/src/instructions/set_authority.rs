//! `set_authority()`: hands the treasury to a new authority; both old and new must sign, so a
//! typo cannot lock the treasury.

use crate::abi::{AccountSpec, FieldSpec, InstructionSpec};
use crate::discriminator;
use crate::error::PayoutError;
use crate::events::AuthorityChanged;
use crate::instructions::Invocation;
use crate::instructions::load_treasury_mut;
use pinocchio::address::address_eq;
use pinocchio::ProgramResult;

pub const NAME: &str = "set_authority";
pub const DISCRIMINATOR: [u8; 8] = discriminator::instruction(NAME);

/// Accounts:
///   0. `[signer]` authority — the current treasury authority
///   1. `[signer]` new_authority
///   2. `[writable]` treasury
///
/// Data: discriminator (8) only.
pub const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec::new("authority", false, true, "The current treasury authority"),
    AccountSpec::new("new_authority", false, true, "The next treasury authority"),
    AccountSpec::new("treasury", true, false, "Treasury being handed over"),
];
pub const ARGS: &[FieldSpec] = &[];
pub const SPEC: InstructionSpec = InstructionSpec {
    name: NAME,
    docs: "Hand the treasury to a new authority; old and new authority both sign.",
    discriminator: DISCRIMINATOR,
    accounts: ACCOUNTS,
    args: ARGS,
};

#[inline(never)]
pub fn process(ix: Invocation) -> ProgramResult {
    let Invocation { program_id, accounts, data } = ix;
    if !data.is_empty() {
        return Err(PayoutError::InvalidInstructionData.into());
    }
    let [authority, new_authority, treasury_account, ..] = accounts else {
        return Err(PayoutError::NotEnoughAccounts.into());
    };
    if !authority.is_signer() {
        return Err(PayoutError::AuthorityMustSign.into());
    }
    if !new_authority.is_signer() {
        return Err(PayoutError::NewAuthorityMustSign.into());
    }
    let treasury_address = treasury_account.address().clone();
    let treasury = load_treasury_mut(treasury_account, program_id)?;
    if !address_eq(authority.address(), &treasury.authority) {
        return Err(PayoutError::Unauthorized.into());
    }
    treasury.authority = new_authority.address().clone();

    AuthorityChanged {
        treasury: treasury_address,
        old_authority: authority.address().clone(),
        new_authority: new_authority.address().clone(),
    }
    .emit();
    Ok(())
}
