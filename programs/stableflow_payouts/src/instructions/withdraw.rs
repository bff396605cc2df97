//! `withdraw(amount: u64)`: the authority moves tokens out of the vault.

use crate::abi::{AccountSpec, FieldSpec, FieldType, InstructionSpec};
use crate::cpi::TransferChecked;
use crate::discriminator;
use crate::error::PayoutError;
use crate::events::Withdrawn;
use crate::instructions::Invocation;
use crate::instructions::{check_treasury_accounts, load_treasury_at_pda, mint_decimals, parse_u64_only, vault_balance};
use pinocchio::address::address_eq;
use pinocchio::cpi::Signer;
use pinocchio::ProgramResult;

pub const NAME: &str = "withdraw";
pub const DISCRIMINATOR: [u8; 8] = discriminator::instruction(NAME);

/// Accounts:
///   0. `[signer]` authority — the treasury authority
///   1. `[]` treasury
///   2. `[writable]` vault — the treasury's vault
///   3. `[writable]` destination — token account of the treasury's mint
///   4. `[]` mint — the treasury's mint
///   5. `[]` token_program — the treasury's token program
///
/// Data: discriminator (8) · amount `u64` LE (> 0, at most the vault balance).
/// Allowed while paused: pausing stops splits, not the authority's access to its funds.
pub const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec::new("authority", false, true, "The treasury authority"),
    AccountSpec::new("treasury", false, false, "Treasury paying out"),
    AccountSpec::new("vault", true, false, "The treasury's vault"),
    AccountSpec::new("destination", true, false, "Token account receiving the withdrawal"),
    AccountSpec::new("mint", false, false, "The treasury's mint"),
    AccountSpec::new("token_program", false, false, "The treasury's token program"),
];
pub const ARGS: &[FieldSpec] = &[FieldSpec { name: "amount", ty: FieldType::U64 }];
pub const SPEC: InstructionSpec = InstructionSpec {
    name: NAME,
    docs: "Move tokens from the vault to a token account chosen by the authority.",
    discriminator: DISCRIMINATOR,
    accounts: ACCOUNTS,
    args: ARGS,
};

#[inline(never)]
pub fn process(ix: Invocation) -> ProgramResult {
    let Invocation { program_id, accounts, data } = ix;
    let amount = parse_u64_only(data)?;
    let [authority, treasury_account, vault, destination, mint, token_program, ..] = accounts else {
        return Err(PayoutError::NotEnoughAccounts.into());
    };
    if amount == 0 {
        return Err(PayoutError::ZeroDepositOrWithdraw.into());
    }
    if !authority.is_signer() {
        return Err(PayoutError::AuthorityMustSign.into());
    }
    let treasury = load_treasury_at_pda(treasury_account, program_id)?;
    if !address_eq(authority.address(), &treasury.authority) {
        return Err(PayoutError::Unauthorized.into());
    }
    check_treasury_accounts(treasury, vault, mint, token_program)?;
    if vault_balance(vault)? < amount {
        return Err(PayoutError::InsufficientVaultBalance.into());
    }
    let decimals = mint_decimals(mint)?;

    let bump = [treasury.bump];
    let seeds = treasury.signer_seeds(&bump);
    TransferChecked {
        token_program: token_program.address(),
        from: vault,
        mint,
        to: destination,
        authority: treasury_account,
        decimals,
    }
    .invoke_signed(amount, &[Signer::from(&seeds)])?;

    Withdrawn { treasury: treasury_account.address().clone(), destination: destination.address().clone(), amount }.emit();
    Ok(())
}
