//! `initialize_treasury(org_id: [u8; 16])`: creates the treasury PDA for (mint, authority,
//! organization) and its vault token account, owned by the treasury PDA. The authority signs and
//! is part of the address, so nobody can take a treasury address meant for someone else
//! (decision 007).

use crate::abi::{AccountSpec, FieldSpec, FieldType, InstructionSpec};
use crate::cpi::{token_account_size, CreatePda, InitializeAccount3};
use crate::discriminator;
use crate::error::PayoutError;
use crate::events::TreasuryInitialized;
use crate::instructions::Invocation;
use crate::instructions::is_owned_by;
use crate::state::seeds;
use crate::state::token::{check_mint, is_token_program, SYSTEM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID};
use crate::state::treasury::{Treasury, TreasuryInit};
use crate::sys;
use pinocchio::address::address_eq;
use pinocchio::cpi::{Seed, Signer};
use pinocchio::ProgramResult;

pub const NAME: &str = "initialize_treasury";
pub const DISCRIMINATOR: [u8; 8] = discriminator::instruction(NAME);

/// Accounts:
///   0. `[writable, signer]` payer — pays rent for the treasury and the vault
///   1. `[signer]` authority — becomes the treasury authority and its seed authority
///   2. `[writable]` treasury — PDA `["treasury", mint, authority, org_id]`, created here
///   3. `[writable]` vault — PDA `["vault", treasury]`, token account created here
///   4. `[]` mint — SPL Token or Token-2022 mint whose extensions are all accepted
///      (`state::token::extension`; decisions 003 and 007)
///   5. `[]` token_program — the mint's owner (SPL Token or Token-2022)
///   6. `[]` system_program
///
/// Data: discriminator (8) · org_id `[u8; 16]`.
pub const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec::new("payer", true, true, "Pays rent for the treasury and the vault"),
    AccountSpec::new("authority", false, true, "Signs; becomes the treasury authority and, for good, its seed authority"),
    AccountSpec::new("treasury", true, false, "Treasury PDA [\"treasury\", mint, authority, org_id], created here")
        .with_pda(seeds::TREASURY_PDA_AT_INIT),
    AccountSpec::new("vault", true, false, "Vault token account PDA, created here").with_pda(seeds::VAULT_PDA),
    AccountSpec::new("mint", false, false, "Mint held by the treasury"),
    AccountSpec::new("token_program", false, false, "SPL Token or Token-2022, the mint's owner"),
    AccountSpec::new("system_program", false, false, "System program").with_address("11111111111111111111111111111111"),
];
pub const ARGS: &[FieldSpec] = &[FieldSpec { name: "org_id", ty: FieldType::Bytes(16) }];
pub const SPEC: InstructionSpec = InstructionSpec {
    name: NAME,
    docs: "Create the treasury PDA for (mint, authority, organization) and its vault token account. The authority must sign: the address derives from its key.",
    discriminator: DISCRIMINATOR,
    accounts: ACCOUNTS,
    args: ARGS,
};

/// Parsed instruction data (after the discriminator).
#[derive(Debug, PartialEq, Eq)]
pub struct Args {
    pub org_id: [u8; 16],
}

impl Args {
    pub fn parse(data: &[u8]) -> Result<Self, PayoutError> {
        let org_id = data.try_into().map_err(|_| PayoutError::InvalidInstructionData)?;
        Ok(Self { org_id })
    }
}

#[inline(never)]
pub fn process(ix: Invocation) -> ProgramResult {
    let Invocation { program_id, accounts, data } = ix;
    let args = Args::parse(data)?;
    let [payer, authority, treasury, vault, mint, token_program, system_program, ..] = accounts else {
        return Err(PayoutError::NotEnoughAccounts.into());
    };

    // Checks.
    if !payer.is_signer() {
        return Err(PayoutError::PayerMustSign.into());
    }
    if !authority.is_signer() {
        return Err(PayoutError::AuthorityMustSign.into());
    }
    if !is_token_program(token_program.address()) {
        return Err(PayoutError::InvalidTokenProgram.into());
    }
    if !address_eq(system_program.address(), &SYSTEM_PROGRAM_ID) {
        return Err(PayoutError::InvalidSystemProgram.into());
    }
    if !is_owned_by(mint, token_program.address()) {
        return Err(PayoutError::InvalidMint.into());
    }
    let token_2022 = address_eq(token_program.address(), &TOKEN_2022_PROGRAM_ID);
    // SAFETY: read-only view of the mint, dropped before any CPI.
    check_mint(unsafe { mint.borrow_unchecked() }, token_2022)?;

    // The signing authority is a seed: a stranger derives only addresses of their own.
    let no_bump = [0u8];
    let derive = seeds::treasury(mint.address().as_ref(), authority.address().as_ref(), &args.org_id, &no_bump);
    let (treasury_address, bump) = sys::find_program_address(&derive[..4], program_id)?;
    if !address_eq(&treasury_address, treasury.address()) {
        return Err(PayoutError::InvalidTreasury.into());
    }
    if is_owned_by(treasury, program_id) || !treasury.is_data_empty() {
        return Err(PayoutError::TreasuryAlreadyInitialized.into());
    }
    let (vault_address, vault_bump) =
        sys::find_program_address(&seeds::vault(treasury.address().as_ref(), &no_bump)[..2], program_id)?;
    if !address_eq(&vault_address, vault.address()) || !vault.is_data_empty() {
        return Err(PayoutError::InvalidVault.into());
    }

    // Effects: treasury account, then the vault token account owned by the treasury PDA.
    let bump_seed = [bump];
    let treasury_seeds =
        seeds::treasury(mint.address().as_ref(), authority.address().as_ref(), &args.org_id, &bump_seed).map(Seed::from);
    CreatePda {
        payer,
        account: treasury,
        owner: program_id,
        space: Treasury::LEN as u64,
        lamports: sys::rent_exempt_minimum(Treasury::LEN)?,
    }
    .invoke_signed(&[Signer::from(&treasury_seeds)])?;

    let vault_space = token_account_size(token_program.address(), mint)?;
    let vault_bump_seed = [vault_bump];
    let vault_seeds = seeds::vault(treasury.address().as_ref(), &vault_bump_seed).map(Seed::from);
    CreatePda {
        payer,
        account: vault,
        owner: token_program.address(),
        space: vault_space,
        lamports: sys::rent_exempt_minimum(vault_space as usize)?,
    }
    .invoke_signed(&[Signer::from(&vault_seeds)])?;
    InitializeAccount3 { token_program: token_program.address(), account: vault, mint, owner: treasury.address() }.invoke()?;

    let init = TreasuryInit {
        authority: authority.address().clone(),
        mint: mint.address().clone(),
        token_program: token_program.address().clone(),
        vault: vault.address().clone(),
        org_id: args.org_id,
        bump,
        vault_bump,
    };
    // SAFETY: the account was just created with `Treasury::LEN` zeroed bytes; no other view exists.
    Treasury::init(unsafe { treasury.borrow_unchecked_mut() }, &init)?;

    TreasuryInitialized {
        treasury: treasury.address().clone(),
        authority: init.authority,
        mint: init.mint,
        vault: init.vault,
    }
    .emit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_org_id() {
        assert_eq!(Args::parse(&[7; 16]), Ok(Args { org_id: [7; 16] }));
    }

    #[test]
    fn error_truncated_or_trailing_data() {
        assert_eq!(Args::parse(&[7; 15]), Err(PayoutError::InvalidInstructionData));
        assert_eq!(Args::parse(&[7; 17]), Err(PayoutError::InvalidInstructionData));
    }

    #[test]
    fn account_list_matches_the_interface() {
        let names: std::vec::Vec<_> = ACCOUNTS.iter().map(|a| a.name).collect();
        assert_eq!(names, ["payer", "authority", "treasury", "vault", "mint", "token_program", "system_program"]);
        assert!(ACCOUNTS[0].writable && ACCOUNTS[0].signer && ACCOUNTS[1].signer && !ACCOUNTS[1].writable);
    }
}
