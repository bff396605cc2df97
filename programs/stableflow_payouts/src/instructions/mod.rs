//! One module per instruction, plus the account checks they share.

pub mod deposit;
pub mod execute_split;
pub mod initialize_treasury;
pub mod set_authority;
pub mod set_paused;
pub mod withdraw;

use crate::abi::InstructionSpec;
use crate::error::PayoutError;
use crate::state::Treasury;
use pinocchio::address::address_eq;
use pinocchio::{AccountView, Address};

/// One call into the program. Instruction handlers take it as one argument: LLVM's BPF
/// backend refuses calls with more than five (slices count two, a returned Result one).
pub struct Invocation<'a> {
    pub program_id: &'a Address,
    pub accounts: &'a mut [AccountView],
    /// Instruction data after the 8-byte discriminator.
    pub data: &'a [u8],
}

/// Every instruction, in IDL order.
pub const ALL: &[InstructionSpec] = &[
    initialize_treasury::SPEC,
    deposit::SPEC,
    execute_split::SPEC,
    withdraw::SPEC,
    set_authority::SPEC,
    set_paused::SPEC,
];

/// Whether `account` is owned by `owner`, comparing the 32 bytes as four words.
#[inline(always)]
pub(crate) fn is_owned_by(account: &AccountView, owner: &Address) -> bool {
    // SAFETY: the runtime-provided account pointer is valid for the whole instruction and
    // nothing writes the owner field while we read it.
    address_eq(unsafe { &(*account.account_ptr()).owner }, owner)
}

/// The treasury data of an account owned by this program.
#[inline(always)]
pub(crate) fn load_treasury<'a>(account: &'a AccountView, program_id: &Address) -> Result<&'a Treasury, PayoutError> {
    if !is_owned_by(account, program_id) {
        return Err(PayoutError::InvalidTreasury);
    }
    // SAFETY: no mutable view of this account's data is alive, and the CPIs this program makes
    // never write to the treasury (it is only ever a signer of token transfers).
    Treasury::from_bytes(unsafe { account.borrow_unchecked() })
}

/// The treasury data, after proving the account sits at its PDA
/// `["treasury", mint, seed_authority, org_id, bump]`. Used where the treasury signs: only this
/// program can own such data, so a mismatch means a forged account, and signing would fail anyway.
#[inline(always)]
pub(crate) fn load_treasury_at_pda<'a>(account: &'a AccountView, program_id: &Address) -> Result<&'a Treasury, PayoutError> {
    let treasury = load_treasury(account, program_id)?;
    let bump = [treasury.bump];
    match crate::sys::create_program_address(&treasury.pda_seeds(&bump), program_id) {
        Ok(address) if address_eq(&address, account.address()) => Ok(treasury),
        _ => Err(PayoutError::InvalidTreasury),
    }
}

/// Mutable treasury data of an account owned by this program.
#[inline(always)]
pub(crate) fn load_treasury_mut<'a>(account: &'a mut AccountView, program_id: &Address) -> Result<&'a mut Treasury, PayoutError> {
    if !is_owned_by(account, program_id) {
        return Err(PayoutError::InvalidTreasury);
    }
    // SAFETY: this is the only view of the treasury data alive in the instruction at this point.
    Treasury::from_bytes_mut(unsafe { account.borrow_unchecked_mut() })
}

/// Checks that the vault, mint and token program passed are the treasury's own.
#[inline(always)]
pub(crate) fn check_treasury_accounts(
    treasury: &Treasury,
    vault: &AccountView,
    mint: &AccountView,
    token_program: &AccountView,
) -> Result<(), PayoutError> {
    if !address_eq(vault.address(), &treasury.vault) {
        return Err(PayoutError::InvalidVault);
    }
    if !address_eq(mint.address(), &treasury.mint) {
        return Err(PayoutError::InvalidMint);
    }
    if !address_eq(token_program.address(), &treasury.token_program) {
        return Err(PayoutError::InvalidTokenProgram);
    }
    Ok(())
}

/// Mint decimals, from mint data whose address already matched the treasury's mint.
#[inline(always)]
pub(crate) fn mint_decimals(mint: &AccountView) -> Result<u8, PayoutError> {
    // SAFETY: the mint is only read, and no CPI runs while this borrow is used.
    let data = unsafe { mint.borrow_unchecked() };
    data.get(44).copied().ok_or(PayoutError::InvalidMint)
}

/// Token balance of the vault, whose address already matched the treasury's vault.
#[inline(always)]
pub(crate) fn vault_balance(vault: &AccountView) -> Result<u64, PayoutError> {
    // SAFETY: read before any CPI that modifies the vault; the slice is dropped before them.
    crate::state::token::token_amount(unsafe { vault.borrow_unchecked() })
}

/// Reads a little-endian u64 argument that must be the whole of `data`.
#[inline(always)]
pub(crate) fn parse_u64_only(data: &[u8]) -> Result<u64, PayoutError> {
    let bytes: [u8; 8] = data.try_into().map_err(|_| PayoutError::InvalidInstructionData)?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_argument_must_be_exactly_eight_bytes() {
        assert_eq!(parse_u64_only(&7u64.to_le_bytes()), Ok(7));
        assert_eq!(parse_u64_only(&[1, 2, 3]), Err(PayoutError::InvalidInstructionData));
        assert_eq!(parse_u64_only(&[0; 9]), Err(PayoutError::InvalidInstructionData));
    }

    #[test]
    fn instruction_names_are_unique_snake_case() {
        for (i, spec) in ALL.iter().enumerate() {
            assert!(spec.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", spec.name);
            assert!(ALL[i + 1..].iter().all(|other| other.name != spec.name));
        }
    }
}
