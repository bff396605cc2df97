//! `deposit(amount: u64)`: anyone may fund a treasury's vault from their own token account.

use crate::abi::{AccountSpec, FieldSpec, FieldType, InstructionSpec};
use crate::cpi::TransferChecked;
use crate::discriminator;
use crate::error::PayoutError;
use crate::events::Deposited;
use crate::instructions::Invocation;
use crate::instructions::{check_treasury_accounts, load_treasury, mint_decimals, parse_u64_only};
use pinocchio::ProgramResult;

pub const NAME: &str = "deposit";
pub const DISCRIMINATOR: [u8; 8] = discriminator::instruction(NAME);

/// Accounts:
///   0. `[signer]` depositor — owner of `source`
///   1. `[writable]` source — token account of the treasury's mint
///   2. `[]` treasury
///   3. `[writable]` vault — the treasury's vault
///   4. `[]` mint — the treasury's mint
///   5. `[]` token_program — the treasury's token program
///
/// Data: discriminator (8) · amount `u64` LE (> 0).
pub const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec::new("depositor", false, true, "Owner of the source token account"),
    AccountSpec::new("source", true, false, "Token account the deposit comes from"),
    AccountSpec::new("treasury", false, false, "Treasury receiving the deposit"),
    AccountSpec::new("vault", true, false, "The treasury's vault"),
    AccountSpec::new("mint", false, false, "The treasury's mint"),
    AccountSpec::new("token_program", false, false, "The treasury's token program"),
];
pub const ARGS: &[FieldSpec] = &[FieldSpec { name: "amount", ty: FieldType::U64 }];
pub const SPEC: InstructionSpec = InstructionSpec {
    name: NAME,
    docs: "Move tokens from the depositor's account into the treasury vault.",
    discriminator: DISCRIMINATOR,
    accounts: ACCOUNTS,
    args: ARGS,
};

#[inline(never)]
pub fn process(ix: Invocation) -> ProgramResult {
    let Invocation { program_id, accounts, data } = ix;
    let amount = parse_u64_only(data)?;
    let [depositor, source, treasury_account, vault, mint, token_program, ..] = accounts else {
        return Err(PayoutError::NotEnoughAccounts.into());
    };
    if amount == 0 {
        return Err(PayoutError::ZeroDepositOrWithdraw.into());
    }
    if !depositor.is_signer() {
        return Err(PayoutError::DepositorMustSign.into());
    }
    let treasury = load_treasury(treasury_account, program_id)?;
    check_treasury_accounts(treasury, vault, mint, token_program)?;
    let decimals = mint_decimals(mint)?;

    TransferChecked { token_program: token_program.address(), from: source, mint, to: vault, authority: depositor, decimals }
        .invoke_signed(amount, &[])?;

    Deposited { treasury: treasury_account.address().clone(), depositor: depositor.address().clone(), amount }.emit();
    Ok(())
}
