//! `set_authority()`: hands the treasury to a new authority; both old and new must sign, so a
//! typo cannot lock the treasury. The treasury's address keeps deriving from its founding
//! authority (`seed_authority`, never changed), so the program still finds and signs for it.

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
    docs: "Hand the treasury to a new authority; old and new authority both sign. seed_authority (part of the address) is unchanged.",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::treasury::{Treasury, TreasuryInit};
    use crate::testing::{address, FakeAccount};
    use pinocchio::Address;
    use pinocchio::error::ProgramError;

    fn treasury_account(authority: &Address) -> FakeAccount {
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
        FakeAccount::new(&address(9), &crate::ID, (false, true), &data)
    }

    fn run(old: &mut FakeAccount, new: &mut FakeAccount, treasury: &mut FakeAccount) -> ProgramResult {
        let mut accounts = [old.view(), new.view(), treasury.view()];
        process(Invocation { program_id: &crate::ID, accounts: &mut accounts, data: &[] })
    }

    #[test]
    fn both_signatures_hand_the_treasury_over() {
        // Given the current and the next authority both signing,
        let mut old = FakeAccount::new(&address(1), &address(0), (true, false), &[]);
        let mut new = FakeAccount::new(&address(8), &address(0), (true, false), &[]);
        let mut treasury = treasury_account(&address(1));
        // When set_authority runs, Then the treasury names the new authority.
        run(&mut old, &mut new, &mut treasury).unwrap();
        let after = treasury.data();
        let handed_over = Treasury::from_bytes(&after).unwrap();
        assert_eq!(handed_over.authority, address(8));
        // And the address still derives from the founding authority.
        assert_eq!(handed_over.seed_authority, address(1));
    }

    #[test]
    fn error_new_authority_does_not_sign() {
        let mut old = FakeAccount::new(&address(1), &address(0), (true, false), &[]);
        let mut new = FakeAccount::new(&address(8), &address(0), (false, false), &[]);
        let mut treasury = treasury_account(&address(1));
        assert_eq!(run(&mut old, &mut new, &mut treasury), Err(ProgramError::Custom(6025)));
        assert_eq!(Treasury::from_bytes(&treasury.data()).unwrap().authority, address(1));
    }

    #[test]
    fn error_old_signer_is_not_the_authority() {
        let mut stranger = FakeAccount::new(&address(6), &address(0), (true, false), &[]);
        let mut new = FakeAccount::new(&address(8), &address(0), (true, false), &[]);
        let mut treasury = treasury_account(&address(1));
        assert_eq!(run(&mut stranger, &mut new, &mut treasury), Err(ProgramError::Custom(6004)));
        assert_eq!(Treasury::from_bytes(&treasury.data()).unwrap().authority, address(1));
    }

    #[test]
    fn error_trailing_data() {
        let mut old = FakeAccount::new(&address(1), &address(0), (true, false), &[]);
        let mut new = FakeAccount::new(&address(8), &address(0), (true, false), &[]);
        let mut treasury = treasury_account(&address(1));
        let mut accounts = [old.view(), new.view(), treasury.view()];
        let result = process(Invocation { program_id: &crate::ID, accounts: &mut accounts, data: &[0] });
        assert_eq!(result, Err(ProgramError::Custom(6000)));
    }
}
