//! Custom program errors. Codes start at 6000 (Anchor's user range), are append-only and
//! never reordered: clients and recorded failures depend on them.
//!
//! A recipient that cannot receive is reported as `RECIPIENT_REFUSED_BASE + position` (6100 + its
//! index among the recipient accounts), so the position survives in the bare transaction error
//! (`InstructionError(i, Custom(6100 + p))`, which is all a signature status carries); the reason
//! is one of the `Recipient*` codes below, in the `RecipientRefused` event logged just before.

use crate::abi::ErrorSpec;
use pinocchio::error::ProgramError;

macro_rules! program_errors {
    ($($name:ident = $code:literal => $msg:literal,)*) => {
        /// Every failure the program reports on purpose.
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum PayoutError {
            $(#[doc = $msg] $name = $code,)*
        }

        /// The same list as data, for the IDL.
        pub const ERRORS: &[ErrorSpec] = &[
            $(ErrorSpec { code: $code, name: stringify!($name), msg: $msg },)*
        ];
    };
}

program_errors! {
    InvalidInstructionData = 6000 => "Instruction data is malformed, truncated or has trailing bytes",
    UnknownInstruction = 6001 => "Unknown instruction discriminator",
    NotEnoughAccounts = 6002 => "Not enough accounts for this instruction",
    AuthorityMustSign = 6003 => "The treasury authority must sign",
    Unauthorized = 6004 => "Signer is not the treasury authority",
    TreasuryPaused = 6005 => "The treasury is paused",
    InvalidTreasury = 6006 => "Treasury account is not a treasury of this program",
    InvalidVault = 6007 => "Vault does not belong to this treasury",
    InvalidMint = 6008 => "Mint does not match the treasury or is not an initialized mint",
    InvalidTokenProgram = 6009 => "Token program is not SPL Token / Token-2022 or not the treasury's",
    NoRecipients = 6010 => "A split needs at least one recipient",
    TooManyRecipients = 6011 => "More recipients than MAX_RECIPIENTS",
    AmountsCountMismatch = 6012 => "Number of amounts differs from the number of recipient accounts",
    ZeroAmount = 6013 => "Every split amount must be greater than zero",
    RecipientWrongMint = 6014 => "Recipient token account holds a different mint",
    RecipientNotTokenAccount = 6015 => "Recipient is not an initialized token account of the treasury's token program",
    RecipientIsVault = 6016 => "The vault cannot be a recipient",
    DuplicateRecipient = 6017 => "A recipient token account appears twice",
    AmountOverflow = 6018 => "Amount arithmetic overflowed u64",
    InsufficientVaultBalance = 6019 => "The vault holds less than the requested total",
    PlanHashMismatch = 6020 => "Plan hash does not match the recipients and amounts",
    SplitAlreadyExecuted = 6021 => "This split batch was already executed",
    InvalidSplitRecord = 6022 => "Split record address is not the PDA for this treasury, run and batch",
    UnsupportedMintExtension = 6023 => "The Token-2022 mint has an extension that could move, freeze or hide the vault's balance or make transfers fail",
    InvalidSystemProgram = 6024 => "System program account is not the system program",
    NewAuthorityMustSign = 6025 => "The new authority must sign",
    ZeroDepositOrWithdraw = 6026 => "Deposit and withdraw amounts must be greater than zero",
    PayerMustSign = 6027 => "The payer must sign",
    TreasuryAlreadyInitialized = 6028 => "The treasury account already exists",
    RecipientFrozen = 6029 => "Recipient token account is frozen",
    DepositorMustSign = 6030 => "The depositor must sign",
    RecipientRequiresMemo = 6031 => "Recipient token account requires a memo on incoming transfers (Token-2022 MemoTransfer)",
    RecipientExtensionUnsupported = 6032 => "Recipient token account carries a Token-2022 extension a split does not pay into",
    RecipientMissing = 6033 => "Recipient account does not exist (never created, or closed)",
}

/// First code of the recipient-position range: `6100 + p` means the recipient at position `p`
/// (index among the recipient accounts, after the named ones) cannot receive.
pub const RECIPIENT_REFUSED_BASE: u32 = 6100;

const _: () = assert!(6000 + ERRORS.len() as u32 <= RECIPIENT_REFUSED_BASE);

/// The error for the recipient at `position`; a position is always below `MAX_RECIPIENTS`.
#[inline(always)]
pub fn recipient_refused(position: usize) -> ProgramError {
    ProgramError::Custom(RECIPIENT_REFUSED_BASE + position as u32)
}

/// The position a code of the recipient range names, for host tests and the IDL.
pub fn refused_position(code: u32) -> Option<usize> {
    let position = code.checked_sub(RECIPIENT_REFUSED_BASE)? as usize;
    (position < crate::MAX_RECIPIENTS).then_some(position)
}

impl From<PayoutError> for ProgramError {
    #[inline(always)]
    fn from(error: PayoutError) -> Self {
        ProgramError::Custom(error as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_contiguous_from_6000() {
        // Append-only numbering: a gap or a reorder would change what clients decode.
        for (i, spec) in ERRORS.iter().enumerate() {
            assert_eq!(spec.code, 6000 + i as u32, "{}", spec.name);
        }
    }

    #[test]
    fn enum_and_table_agree() {
        assert_eq!(PayoutError::InvalidInstructionData as u32, ERRORS[0].code);
        assert_eq!(PayoutError::ZeroDepositOrWithdraw as u32, 6026);
        assert_eq!(ProgramError::from(PayoutError::PlanHashMismatch), ProgramError::Custom(6020));
        assert_eq!(ERRORS[21].name, "SplitAlreadyExecuted");
    }

    #[test]
    fn recipient_positions_have_their_own_range() {
        // Given each position of a full batch, Then its code is 6100 + p and maps back to p.
        assert_eq!(recipient_refused(0), ProgramError::Custom(6100));
        assert_eq!(recipient_refused(crate::MAX_RECIPIENTS - 1), ProgramError::Custom(6149));
        assert_eq!(refused_position(6107), Some(7));
        // And nothing outside the range is read as a position.
        assert_eq!(refused_position(6099), None);
        assert_eq!(refused_position(6100 + crate::MAX_RECIPIENTS as u32), None);
        assert!(ERRORS.iter().all(|e| refused_position(e.code).is_none()));
    }
}
