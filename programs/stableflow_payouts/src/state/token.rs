//! Read-only views of SPL Token / Token-2022 account and mint data, enough to validate them
//! without deserialising (the token program re-checks everything during the transfer).

use crate::error::PayoutError;
use pinocchio::address::address_eq;
use pinocchio::Address;

pub const TOKEN_PROGRAM_ID: Address = Address::from_str_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
pub const TOKEN_2022_PROGRAM_ID: Address = Address::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
pub const SYSTEM_PROGRAM_ID: Address = Address::new_from_array([0; 32]);

/// Size of a token account without extensions (also where Token-2022's account-type byte sits).
pub const TOKEN_ACCOUNT_LEN: usize = 165;
/// Size of a multisig account, which Token-2022 tells apart from extended accounts by length.
const MULTISIG_LEN: usize = 355;
/// Size of a mint without extensions.
pub const MINT_LEN: usize = 82;

const ACCOUNT_TYPE_MINT: u8 = 1;
const ACCOUNT_TYPE_ACCOUNT: u8 = 2;
const STATE_INITIALIZED: u8 = 1;
const STATE_FROZEN: u8 = 2;

/// Token-2022 extension types that change what a transfer moves or who runs during it.
const EXTENSION_TRANSFER_FEE_CONFIG: u16 = 1;
const EXTENSION_TRANSFER_HOOK: u16 = 14;

/// Which token program a treasury uses.
#[inline(always)]
pub fn is_token_program(id: &Address) -> bool {
    address_eq(id, &TOKEN_PROGRAM_ID) || address_eq(id, &TOKEN_2022_PROGRAM_ID)
}

/// Checks that `data` is an initialized, unfrozen token account of `mint`.
///
/// Layout: mint (0..32), owner (32..64), amount (64..72), ..., state (108). Token-2022 accounts
/// with extensions are longer than 165 bytes and carry account type 2 at byte 165; a
/// Token-2022 mint with extensions also exceeds 165 bytes but carries type 1, so it is refused.
#[inline(always)]
pub fn check_token_account(data: &[u8], mint: &Address) -> Result<(), PayoutError> {
    let len = data.len();
    if len < TOKEN_ACCOUNT_LEN
        || len == MULTISIG_LEN
        || (len > TOKEN_ACCOUNT_LEN && data[TOKEN_ACCOUNT_LEN] != ACCOUNT_TYPE_ACCOUNT)
    {
        return Err(PayoutError::RecipientNotTokenAccount);
    }
    match data[108] {
        STATE_INITIALIZED => {}
        STATE_FROZEN => return Err(PayoutError::RecipientFrozen),
        _ => return Err(PayoutError::RecipientNotTokenAccount),
    }
    // SAFETY: `len >= 165`, so bytes 0..32 exist; Address is a 32-byte array with alignment 1.
    let account_mint = unsafe { &*(data.as_ptr() as *const Address) };
    if !address_eq(account_mint, mint) {
        return Err(PayoutError::RecipientWrongMint);
    }
    Ok(())
}

/// Token balance of token-account data already known to be at least 72 bytes long.
#[inline(always)]
pub fn token_amount(data: &[u8]) -> Result<u64, PayoutError> {
    let bytes = data.get(64..72).ok_or(PayoutError::InvalidVault)?;
    let mut amount = [0u8; 8];
    amount.copy_from_slice(bytes);
    Ok(u64::from_le_bytes(amount))
}

/// Validates mint data for a treasury and returns its decimals.
///
/// Classic mints are exactly 82 bytes. Token-2022 mints with extensions are padded to 165
/// bytes, then account type 1, then TLV entries `(type: u16 LE, length: u16 LE, value)`; a
/// transfer-fee or transfer-hook extension is refused.
pub fn check_mint(data: &[u8], token_2022: bool) -> Result<u8, PayoutError> {
    if data.len() < MINT_LEN || data[45] != 1 {
        return Err(PayoutError::InvalidMint);
    }
    if data.len() > MINT_LEN {
        if !token_2022 || data.len() <= TOKEN_ACCOUNT_LEN || data[TOKEN_ACCOUNT_LEN] != ACCOUNT_TYPE_MINT {
            return Err(PayoutError::InvalidMint);
        }
        check_mint_extensions(&data[TOKEN_ACCOUNT_LEN + 1..])?;
    }
    Ok(data[44])
}

fn check_mint_extensions(mut tlv: &[u8]) -> Result<(), PayoutError> {
    while tlv.len() >= 4 {
        let kind = u16::from_le_bytes([tlv[0], tlv[1]]);
        let len = u16::from_le_bytes([tlv[2], tlv[3]]) as usize;
        if kind == 0 {
            // Uninitialized: the rest is unused space.
            return Ok(());
        }
        if kind == EXTENSION_TRANSFER_FEE_CONFIG || kind == EXTENSION_TRANSFER_HOOK {
            return Err(PayoutError::UnsupportedMintExtension);
        }
        tlv = tlv.get(4 + len..).ok_or(PayoutError::InvalidMint)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn token_account(mint: [u8; 32], state: u8, len: usize) -> Vec<u8> {
        let mut data = std::vec![0u8; len];
        data[..32].copy_from_slice(&mint);
        data[64..72].copy_from_slice(&500u64.to_le_bytes());
        data[108] = state;
        if len > TOKEN_ACCOUNT_LEN {
            data[TOKEN_ACCOUNT_LEN] = ACCOUNT_TYPE_ACCOUNT;
        }
        data
    }

    fn mint_2022(extensions: &[(u16, u16)]) -> Vec<u8> {
        let mut data = std::vec![0u8; TOKEN_ACCOUNT_LEN + 1];
        data[44] = 6;
        data[45] = 1;
        data[TOKEN_ACCOUNT_LEN] = ACCOUNT_TYPE_MINT;
        for &(kind, len) in extensions {
            data.extend_from_slice(&kind.to_le_bytes());
            data.extend_from_slice(&len.to_le_bytes());
            data.extend(std::iter::repeat(0xAB).take(len as usize));
        }
        data
    }

    #[test]
    fn token_program_ids_decode() {
        assert!(is_token_program(&TOKEN_PROGRAM_ID));
        assert!(is_token_program(&TOKEN_2022_PROGRAM_ID));
        assert!(!is_token_program(&SYSTEM_PROGRAM_ID));
        assert_eq!(TOKEN_PROGRAM_ID.as_array()[..4], [6, 221, 246, 225]);
    }

    #[test]
    fn accepts_classic_and_extended_token_accounts() {
        let mint = Address::new_from_array([3; 32]);
        assert_eq!(check_token_account(&token_account([3; 32], 1, 165), &mint), Ok(()));
        assert_eq!(check_token_account(&token_account([3; 32], 1, 170), &mint), Ok(()));
        assert_eq!(token_amount(&token_account([3; 32], 1, 165)), Ok(500));
    }

    #[test]
    fn error_recipient_wrong_mint_frozen_or_not_an_account() {
        let mint = Address::new_from_array([3; 32]);
        assert_eq!(check_token_account(&token_account([4; 32], 1, 165), &mint), Err(PayoutError::RecipientWrongMint));
        assert_eq!(check_token_account(&token_account([3; 32], 2, 165), &mint), Err(PayoutError::RecipientFrozen));
        assert_eq!(check_token_account(&token_account([3; 32], 0, 165), &mint), Err(PayoutError::RecipientNotTokenAccount));
        assert_eq!(check_token_account(&[0u8; 82], &mint), Err(PayoutError::RecipientNotTokenAccount));
        // A Token-2022 mint with extensions is longer than 165 bytes but has account type 1.
        let mut as_mint = token_account([3; 32], 1, 200);
        as_mint[TOKEN_ACCOUNT_LEN] = ACCOUNT_TYPE_MINT;
        assert_eq!(check_token_account(&as_mint, &mint), Err(PayoutError::RecipientNotTokenAccount));
        // A multisig is 355 bytes; whatever sits at byte 165, it is not a token account.
        assert_eq!(check_token_account(&token_account([3; 32], 1, 355), &mint), Err(PayoutError::RecipientNotTokenAccount));
    }

    #[test]
    fn mint_decimals_and_plain_extensions() {
        let mut classic = [0u8; MINT_LEN];
        classic[44] = 9;
        classic[45] = 1;
        assert_eq!(check_mint(&classic, false), Ok(9));
        assert_eq!(check_mint(&classic, true), Ok(9));
        // MintCloseAuthority (3) and MetadataPointer (18) are harmless.
        assert_eq!(check_mint(&mint_2022(&[(3, 32), (18, 64)]), true), Ok(6));
    }

    #[test]
    fn error_unsupported_mint_extension() {
        assert_eq!(check_mint(&mint_2022(&[(1, 108)]), true), Err(PayoutError::UnsupportedMintExtension));
        assert_eq!(check_mint(&mint_2022(&[(3, 32), (14, 64)]), true), Err(PayoutError::UnsupportedMintExtension));
    }

    #[test]
    fn error_invalid_mint() {
        let uninitialized = [0u8; MINT_LEN];
        assert_eq!(check_mint(&uninitialized, false), Err(PayoutError::InvalidMint));
        // Extension data under the classic program, or a truncated TLV entry.
        assert_eq!(check_mint(&mint_2022(&[(3, 32)]), false), Err(PayoutError::InvalidMint));
        let mut truncated = mint_2022(&[(3, 32)]);
        truncated.truncate(truncated.len() - 1);
        assert_eq!(check_mint(&truncated, true), Err(PayoutError::InvalidMint));
    }
}
