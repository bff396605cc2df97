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
    use crate::state::treasury::{Treasury, TreasuryInit};
    use crate::testing::{address, FakeAccount};
    use pinocchio::Address;
    use pinocchio::error::ProgramError;

    fn treasury_data(authority: &Address) -> std::vec::Vec<u8> {
        let mut data = std::vec![0u8; Treasury::LEN];
        let init = TreasuryInit {
            authority: authority.clone(),
            mint: address(2),
            token_program: address(3),
            vault: address(4),
            org_id: [5; 16],
            bump: 255,
            vault_bump: 254,
        };
        Treasury::init(&mut data, &init).unwrap();
        data
    }

    fn run(authority: &mut FakeAccount, treasury: &mut FakeAccount, data: &[u8]) -> ProgramResult {
        let mut accounts = [authority.view(), treasury.view()];
        process(Invocation { program_id: &crate::ID, accounts: &mut accounts, data })
    }

    #[test]
    fn the_authority_pauses_and_resumes() {
        // Given a treasury whose authority signs,
        let authority_key = address(1);
        let mut authority = FakeAccount::new(&authority_key, &address(0), (true, false), &[]);
        let mut treasury = FakeAccount::new(&address(9), &crate::ID, (false, true), &treasury_data(&authority_key));
        assert!(!Treasury::from_bytes(&treasury.data()).unwrap().paused());
        // When it pauses, Then the flag is set; When it resumes, Then it is cleared.
        run(&mut authority, &mut treasury, &[1]).unwrap();
        assert!(Treasury::from_bytes(&treasury.data()).unwrap().paused());
        run(&mut authority, &mut treasury, &[0]).unwrap();
        assert!(!Treasury::from_bytes(&treasury.data()).unwrap().paused());
    }

    #[test]
    fn error_signer_is_not_the_authority() {
        let mut stranger = FakeAccount::new(&address(7), &address(0), (true, false), &[]);
        let mut treasury = FakeAccount::new(&address(9), &crate::ID, (false, true), &treasury_data(&address(1)));
        let before = treasury.data();
        assert_eq!(run(&mut stranger, &mut treasury, &[1]), Err(ProgramError::Custom(6004)));
        assert_eq!(treasury.data(), before);
    }

    #[test]
    fn error_authority_does_not_sign() {
        let authority_key = address(1);
        let mut authority = FakeAccount::new(&authority_key, &address(0), (false, false), &[]);
        let mut treasury = FakeAccount::new(&address(9), &crate::ID, (false, true), &treasury_data(&authority_key));
        assert_eq!(run(&mut authority, &mut treasury, &[1]), Err(ProgramError::Custom(6003)));
    }

    #[test]
    fn error_treasury_owned_by_another_program() {
        // Given the treasury's exact bytes in an account the system program owns,
        let authority_key = address(1);
        let mut authority = FakeAccount::new(&authority_key, &address(0), (true, false), &[]);
        let mut forged = FakeAccount::new(&address(9), &address(0), (false, true), &treasury_data(&authority_key));
        // Then it is not accepted as a treasury.
        assert_eq!(run(&mut authority, &mut forged, &[1]), Err(ProgramError::Custom(6006)));
    }

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
