//! Program entrypoint: dispatches on the 8-byte Anchor instruction discriminator.

use crate::error::PayoutError;
use crate::instructions::{Invocation, deposit, execute_split, initialize_treasury, set_authority, set_paused, withdraw};
use pinocchio::{AccountView, Address, ProgramResult};

// The entrypoint symbol, a panicking allocator (the program never allocates) and a panic
// handler that reports the location without `core::fmt`.
pinocchio::program_entrypoint!(process_instruction, { MAX_TX_ACCOUNT_LOCKS });

/// A transaction locks at most 64 accounts, so no instruction sees more; sizing the
/// entrypoint's account array to it (not pinocchio's default 255) saves ~1.5 KiB of the
/// 4 KiB stack frame.
const MAX_TX_ACCOUNT_LOCKS: usize = 64;
pinocchio::no_allocator!();
pinocchio::nostd_panic_handler!();

const INITIALIZE_TREASURY: u64 = u64::from_le_bytes(initialize_treasury::DISCRIMINATOR);
const DEPOSIT: u64 = u64::from_le_bytes(deposit::DISCRIMINATOR);
const EXECUTE_SPLIT: u64 = u64::from_le_bytes(execute_split::DISCRIMINATOR);
const WITHDRAW: u64 = u64::from_le_bytes(withdraw::DISCRIMINATOR);
const SET_AUTHORITY: u64 = u64::from_le_bytes(set_authority::DISCRIMINATOR);
const SET_PAUSED: u64 = u64::from_le_bytes(set_paused::DISCRIMINATOR);

/// Splits instruction data into the discriminator (as one word) and the arguments.
#[inline(always)]
pub fn split_discriminator(data: &[u8]) -> Result<(u64, &[u8]), PayoutError> {
    let (discriminator, args) = data.split_first_chunk::<8>().ok_or(PayoutError::InvalidInstructionData)?;
    Ok((u64::from_le_bytes(*discriminator), args))
}

pub fn process_instruction(program_id: &Address, accounts: &mut [AccountView], data: &[u8]) -> ProgramResult {
    let (discriminator, data) = split_discriminator(data)?;
    let ix = Invocation { program_id, accounts, data };
    match discriminator {
        EXECUTE_SPLIT => execute_split::process(ix),
        DEPOSIT => deposit::process(ix),
        WITHDRAW => withdraw::process(ix),
        INITIALIZE_TREASURY => initialize_treasury::process(ix),
        SET_AUTHORITY => set_authority::process(ix),
        SET_PAUSED => set_paused::process(ix),
        _ => Err(PayoutError::UnknownInstruction.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinocchio::error::ProgramError;

    #[test]
    fn splits_the_discriminator() {
        let mut data = std::vec::Vec::from(set_paused::DISCRIMINATOR);
        data.push(1);
        assert_eq!(split_discriminator(&data), Ok((SET_PAUSED, &[1u8][..])));
    }

    #[test]
    fn error_short_data() {
        assert_eq!(split_discriminator(&[1, 2, 3]), Err(PayoutError::InvalidInstructionData));
        let program_id = crate::ID;
        assert_eq!(process_instruction(&program_id, &mut [], &[]), Err(ProgramError::Custom(6000)));
    }

    #[test]
    fn error_unknown_instruction() {
        // Given Anchor's `initialize` discriminator, which this program does not have,
        let data = crate::discriminator::instruction("initialize");
        // Then dispatch refuses it before touching any account.
        assert_eq!(process_instruction(&crate::ID, &mut [], &data), Err(ProgramError::Custom(6001)));
    }

    #[test]
    fn error_not_enough_accounts_for_each_instruction() {
        // Every instruction with well-formed data but no accounts fails with NotEnoughAccounts.
        let mut split = std::vec::Vec::from(execute_split::DISCRIMINATOR);
        split.extend_from_slice(&[0u8; 16 + 2 + 32 + 4]);
        let cases: [std::vec::Vec<u8>; 6] = [
            [&initialize_treasury::DISCRIMINATOR[..], &[0u8; 16]].concat(),
            [&deposit::DISCRIMINATOR[..], &5u64.to_le_bytes()].concat(),
            split,
            [&withdraw::DISCRIMINATOR[..], &5u64.to_le_bytes()].concat(),
            set_authority::DISCRIMINATOR.to_vec(),
            [&set_paused::DISCRIMINATOR[..], &[1u8]].concat(),
        ];
        for data in cases {
            assert_eq!(process_instruction(&crate::ID, &mut [], &data), Err(ProgramError::Custom(6002)));
        }
    }
}
