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

/// Token-2022 extension types (spl-token-2022's `ExtensionType` numbers) the program reads. Mints
/// are checked against an allowlist (decision 003, amended by 007: `MintCloseAuthority` is refused
/// because a closed mint can be re-created at the same address with other extensions); recipient
/// token accounts against another (`recipient_extension_accepted`).
pub mod extension {
    pub const TRANSFER_FEE_CONFIG: u16 = 1;
    pub const MINT_CLOSE_AUTHORITY: u16 = 3;
    pub const CONFIDENTIAL_TRANSFER_MINT: u16 = 4;
    pub const DEFAULT_ACCOUNT_STATE: u16 = 6;
    pub const NON_TRANSFERABLE: u16 = 9;
    pub const INTEREST_BEARING_CONFIG: u16 = 10;
    pub const PERMANENT_DELEGATE: u16 = 12;
    pub const TRANSFER_HOOK: u16 = 14;
    pub const CONFIDENTIAL_TRANSFER_FEE_CONFIG: u16 = 16;
    pub const METADATA_POINTER: u16 = 18;
    pub const TOKEN_METADATA: u16 = 19;
    pub const GROUP_POINTER: u16 = 20;
    pub const TOKEN_GROUP: u16 = 21;
    pub const GROUP_MEMBER_POINTER: u16 = 22;
    pub const TOKEN_GROUP_MEMBER: u16 = 23;
    pub const CONFIDENTIAL_MINT_BURN: u16 = 24;
    pub const SCALED_UI_AMOUNT: u16 = 25;
    pub const PAUSABLE: u16 = 26;
    // Account-side types a recipient token account of an accepted mint can carry.
    pub const IMMUTABLE_OWNER: u16 = 7;
    pub const MEMO_TRANSFER: u16 = 8;
    pub const CPI_GUARD: u16 = 11;
}

/// `DefaultAccountState`'s value is one `AccountState` byte; only `Initialized` is accepted,
/// since a vault created `Frozen` could neither receive nor pay until the issuer thawed it.
const DEFAULT_STATE_INITIALIZED: u8 = 1;

/// Which token program a treasury uses.
#[inline(always)]
pub fn is_token_program(id: &Address) -> bool {
    address_eq(id, &TOKEN_PROGRAM_ID) || address_eq(id, &TOKEN_2022_PROGRAM_ID)
}

/// Checks that `data` is an initialized, unfrozen token account of `mint` that a plain
/// `TransferChecked` from a program can pay into; the error is the reason it cannot.
///
/// Layout: mint (0..32), owner (32..64), amount (64..72), ..., state (108). Token-2022 accounts
/// with extensions are longer than 165 bytes and carry account type 2 at byte 165, then TLV
/// entries; a Token-2022 mint with extensions also exceeds 165 bytes but carries type 1, so it
/// is refused.
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
    if len > TOKEN_ACCOUNT_LEN + 1 {
        check_recipient_extensions(&data[TOKEN_ACCOUNT_LEN + 1..])?;
    }
    Ok(())
}

/// Walks a recipient account's TLV entries: each must be one a transfer into the account from
/// a program goes through with. A malformed entry means the data is not a token account.
#[inline(never)]
fn check_recipient_extensions(mut tlv: &[u8]) -> Result<(), PayoutError> {
    while tlv.len() >= 4 {
        let kind = u16::from_le_bytes([tlv[0], tlv[1]]);
        if kind == 0 {
            return Ok(());
        }
        let len = u16::from_le_bytes([tlv[2], tlv[3]]) as usize;
        let value = tlv.get(4..4 + len).ok_or(PayoutError::RecipientNotTokenAccount)?;
        recipient_extension_accepted(kind, value)?;
        tlv = &tlv[4 + len..];
    }
    Ok(())
}

/// The per-extension decision for a recipient account (an allowlist, decision 007).
#[inline(always)]
fn recipient_extension_accepted(kind: u16, value: &[u8]) -> Result<(), PayoutError> {
    use extension::*;
    match (kind, value) {
        // Only stops the owner changing; incoming transfers are unaffected.
        (IMMUTABLE_OWNER, _) => Ok(()),
        // `require_incoming_transfer_memos`: Token-2022 fails any transfer in that is not preceded
        // by a memo instruction, which a split's transfers never are.
        (MEMO_TRANSFER, [0]) => Ok(()),
        (MEMO_TRANSFER, [_]) => Err(PayoutError::RecipientRequiresMemo),
        // CPI Guard restricts what the account's owner may do through a CPI (transfer out,
        // approve, close, ...); a transfer into the account is not restricted (tested).
        (CPI_GUARD, [_]) => Ok(()),
        // Other account types belong to refused mint extensions (fees, hooks, confidential,
        // non-transferable, pausable) or are unknown.
        _ => Err(PayoutError::RecipientExtensionUnsupported),
    }
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
/// bytes, then account type 1, then TLV entries `(type: u16 LE, length: u16 LE, value)`; any
/// extension outside the accepted list is refused (and its type number logged).
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

fn check_mint_extensions(tlv: &[u8]) -> Result<(), PayoutError> {
    match first_unsupported_extension(tlv)? {
        None => Ok(()),
        Some(kind) => {
            // Which extension, for whoever reads the failed transaction's logs.
            crate::sys::log("Unsupported Token-2022 mint extension type:");
            crate::sys::log_u64(kind as u64);
            Err(PayoutError::UnsupportedMintExtension)
        }
    }
}

/// Walks the mint's TLV entries and returns the type of the first one a treasury refuses.
/// A malformed entry (truncated, or a `DefaultAccountState` value that is not one byte) is
/// `InvalidMint`: Token-2022 never writes one, so the account is not a mint we understand.
pub fn first_unsupported_extension(mut tlv: &[u8]) -> Result<Option<u16>, PayoutError> {
    while tlv.len() >= 4 {
        let kind = u16::from_le_bytes([tlv[0], tlv[1]]);
        let len = u16::from_le_bytes([tlv[2], tlv[3]]) as usize;
        if kind == 0 {
            // Uninitialized: the rest is unused space.
            return Ok(None);
        }
        let value = tlv.get(4..4 + len).ok_or(PayoutError::InvalidMint)?;
        if !extension_accepted(kind, value)? {
            return Ok(Some(kind));
        }
        tlv = &tlv[4 + len..];
    }
    Ok(None)
}

/// The per-extension decision (an allowlist: unknown and account-only types are refused).
fn extension_accepted(kind: u16, value: &[u8]) -> Result<bool, PayoutError> {
    use extension::*;
    Ok(match kind {
        // Display-only: the raw amounts the program moves are unchanged.
        INTEREST_BEARING_CONFIG | SCALED_UI_AMOUNT => true,
        // Metadata and grouping: descriptive data only.
        METADATA_POINTER | TOKEN_METADATA | GROUP_POINTER | TOKEN_GROUP | GROUP_MEMBER_POINTER | TOKEN_GROUP_MEMBER => true,
        // Accepted only when new accounts (our vault) start Initialized, not Frozen.
        DEFAULT_ACCOUNT_STATE => match value {
            [state] => *state == DEFAULT_STATE_INITIALIZED,
            _ => return Err(PayoutError::InvalidMint),
        },
        // Refused: MINT_CLOSE_AUTHORITY (the mint could be closed at zero supply and re-created
        // at the same address with any extension, past this check; decision 007),
        // TRANSFER_FEE_CONFIG, TRANSFER_HOOK, PERMANENT_DELEGATE, NON_TRANSFERABLE,
        // CONFIDENTIAL_TRANSFER_MINT, CONFIDENTIAL_TRANSFER_FEE_CONFIG, CONFIDENTIAL_MINT_BURN,
        // PAUSABLE, and every other type.
        _ => false,
    })
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

    /// A Token-2022 account of mint [3; 32] with the given TLV entries after its account type.
    fn account_2022(entries: &[(u16, &[u8])]) -> Vec<u8> {
        let mut data = token_account([3; 32], 1, TOKEN_ACCOUNT_LEN + 1);
        for &(kind, value) in entries {
            data.extend_from_slice(&kind.to_le_bytes());
            data.extend_from_slice(&(value.len() as u16).to_le_bytes());
            data.extend_from_slice(value);
        }
        data
    }

    #[test]
    fn accepts_recipient_accounts_with_immutable_owner_optional_memo_or_cpi_guard() {
        let mint = Address::new_from_array([3; 32]);
        // Given: what an ATA of Token-2022 carries, a memo requirement switched off, a CPI guard
        // on, all together, and zero padding after them; When / Then: accepted
        for entries in [
            &[(extension::IMMUTABLE_OWNER, &[][..])][..],
            &[(extension::MEMO_TRANSFER, &[0][..])],
            &[(extension::CPI_GUARD, &[1][..])],
            &[(extension::IMMUTABLE_OWNER, &[][..]), (extension::MEMO_TRANSFER, &[0]), (extension::CPI_GUARD, &[1]), (0, &[])],
        ] {
            assert_eq!(check_token_account(&account_2022(entries), &mint), Ok(()), "{entries:?}");
        }
    }

    #[test]
    fn error_recipient_requires_memo_or_carries_an_unsupported_extension() {
        let mint = Address::new_from_array([3; 32]);
        // Given: incoming memos required, behind an ImmutableOwner entry
        let memo = account_2022(&[(extension::IMMUTABLE_OWNER, &[]), (extension::MEMO_TRANSFER, &[1])]);
        assert_eq!(check_token_account(&memo, &mint), Err(PayoutError::RecipientRequiresMemo));
        // Given: account-side types of refused mint extensions, and unknown ones
        for kind in [2u16, 5, 13, 15, 17, 27, 28, 0xFFFF] {
            let data = account_2022(&[(extension::IMMUTABLE_OWNER, &[]), (kind, &[0; 8])]);
            assert_eq!(check_token_account(&data, &mint), Err(PayoutError::RecipientExtensionUnsupported), "type {kind}");
        }
        // Given: a MemoTransfer value that is not one byte: not what Token-2022 writes
        let odd = account_2022(&[(extension::MEMO_TRANSFER, &[0, 0])]);
        assert_eq!(check_token_account(&odd, &mint), Err(PayoutError::RecipientExtensionUnsupported));
        // Given: a truncated entry: not a token account
        let mut truncated = account_2022(&[(extension::CPI_GUARD, &[1])]);
        truncated.pop();
        assert_eq!(check_token_account(&truncated, &mint), Err(PayoutError::RecipientNotTokenAccount));
        // And a wrong mint is reported as such before any extension is read.
        let mut other_mint = memo.clone();
        other_mint[0] = 4;
        assert_eq!(check_token_account(&other_mint, &mint), Err(PayoutError::RecipientWrongMint));
    }

    /// A Token-2022 mint whose TLV entries carry the given values.
    fn mint_2022_with(entries: &[(u16, &[u8])]) -> Vec<u8> {
        let mut data = mint_2022(&[]);
        for &(kind, value) in entries {
            data.extend_from_slice(&kind.to_le_bytes());
            data.extend_from_slice(&(value.len() as u16).to_le_bytes());
            data.extend_from_slice(value);
        }
        data
    }

    /// Value lengths Token-2022 writes for each mint extension.
    const SIZED: &[(u16, u16)] = &[
        (extension::TRANSFER_FEE_CONFIG, 108),
        (extension::MINT_CLOSE_AUTHORITY, 32),
        (extension::CONFIDENTIAL_TRANSFER_MINT, 65),
        (extension::NON_TRANSFERABLE, 0),
        (extension::INTEREST_BEARING_CONFIG, 52),
        (extension::PERMANENT_DELEGATE, 32),
        (extension::TRANSFER_HOOK, 64),
        (extension::CONFIDENTIAL_TRANSFER_FEE_CONFIG, 129),
        (extension::METADATA_POINTER, 64),
        (extension::TOKEN_METADATA, 90),
        (extension::GROUP_POINTER, 64),
        (extension::TOKEN_GROUP, 80),
        (extension::GROUP_MEMBER_POINTER, 64),
        (extension::TOKEN_GROUP_MEMBER, 72),
        (extension::CONFIDENTIAL_MINT_BURN, 196),
        (extension::SCALED_UI_AMOUNT, 56),
        (extension::PAUSABLE, 33),
    ];

    const ACCEPTED: &[u16] = &[
        extension::INTEREST_BEARING_CONFIG,
        extension::METADATA_POINTER,
        extension::TOKEN_METADATA,
        extension::GROUP_POINTER,
        extension::TOKEN_GROUP,
        extension::GROUP_MEMBER_POINTER,
        extension::TOKEN_GROUP_MEMBER,
        extension::SCALED_UI_AMOUNT,
    ];

    const REFUSED: &[u16] = &[
        extension::MINT_CLOSE_AUTHORITY,
        extension::TRANSFER_FEE_CONFIG,
        extension::CONFIDENTIAL_TRANSFER_MINT,
        extension::NON_TRANSFERABLE,
        extension::PERMANENT_DELEGATE,
        extension::TRANSFER_HOOK,
        extension::CONFIDENTIAL_TRANSFER_FEE_CONFIG,
        extension::CONFIDENTIAL_MINT_BURN,
        extension::PAUSABLE,
    ];

    fn sized(kind: u16) -> (u16, u16) {
        *SIZED.iter().find(|(k, _)| *k == kind).expect("listed in SIZED")
    }

    #[test]
    fn mint_decimals_and_plain_extensions() {
        let mut classic = [0u8; MINT_LEN];
        classic[44] = 9;
        classic[45] = 1;
        assert_eq!(check_mint(&classic, false), Ok(9));
        assert_eq!(check_mint(&classic, true), Ok(9));
        // A Token-2022 mint with an extension area but no entries yet.
        assert_eq!(check_mint(&mint_2022(&[]), true), Ok(6));
    }

    #[test]
    fn accepts_each_harmless_extension_alone_and_all_together() {
        for &kind in ACCEPTED {
            // Given: a mint with this one extension, When / Then: accepted
            assert_eq!(check_mint(&mint_2022(&[sized(kind)]), true), Ok(6), "type {kind}");
        }
        let all: Vec<(u16, u16)> = ACCEPTED.iter().map(|&k| sized(k)).collect();
        assert_eq!(check_mint(&mint_2022(&all), true), Ok(6));
    }

    #[test]
    fn error_unsupported_mint_extension_for_each_refused_type() {
        for &kind in REFUSED {
            // Given: the refused extension alone, then after every accepted one
            assert_eq!(first_unsupported_extension(&mint_2022(&[sized(kind)])[TOKEN_ACCOUNT_LEN + 1..]), Ok(Some(kind)));
            assert_eq!(check_mint(&mint_2022(&[sized(kind)]), true), Err(PayoutError::UnsupportedMintExtension), "type {kind}");
            let mut entries: Vec<(u16, u16)> = ACCEPTED.iter().map(|&k| sized(k)).collect();
            entries.push(sized(kind));
            let data = mint_2022(&entries);
            // Then: the walk reaches it past entries of other lengths and names it
            assert_eq!(first_unsupported_extension(&data[TOKEN_ACCOUNT_LEN + 1..]), Ok(Some(kind)), "type {kind} last");
            assert_eq!(check_mint(&data, true), Err(PayoutError::UnsupportedMintExtension), "type {kind} last");
        }
    }

    #[test]
    fn error_unsupported_mint_extension_for_unknown_and_account_only_types() {
        // Account-side types never belong in a mint; unknown (future) types are refused unread.
        for kind in [2u16, 5, 7, 8, 11, 13, 15, 17, 27, 28, 40, 0xFFFF] {
            assert_eq!(check_mint(&mint_2022(&[(kind, 8)]), true), Err(PayoutError::UnsupportedMintExtension), "type {kind}");
        }
    }

    #[test]
    fn default_account_state_initialized_accepted_frozen_refused() {
        let kind = extension::DEFAULT_ACCOUNT_STATE;
        // Given: default state Initialized (1), When / Then: accepted
        assert_eq!(check_mint(&mint_2022_with(&[(kind, &[1])]), true), Ok(6));
        // Given: default state Frozen (2): the vault would be born frozen, so refused
        assert_eq!(check_mint(&mint_2022_with(&[(kind, &[2])]), true), Err(PayoutError::UnsupportedMintExtension));
        assert_eq!(first_unsupported_extension(&mint_2022_with(&[(18, &[0; 64]), (kind, &[2])])[TOKEN_ACCOUNT_LEN + 1..]), Ok(Some(kind)));
        // Given: Uninitialized (0), which Token-2022 itself refuses to set: not accepted either
        assert_eq!(check_mint(&mint_2022_with(&[(kind, &[0])]), true), Err(PayoutError::UnsupportedMintExtension));
        // Given: a value that is not one byte: not a mint we understand
        assert_eq!(check_mint(&mint_2022_with(&[(kind, &[])]), true), Err(PayoutError::InvalidMint));
        assert_eq!(check_mint(&mint_2022_with(&[(kind, &[1, 1])]), true), Err(PayoutError::InvalidMint));
    }

    #[test]
    fn stops_at_the_uninitialized_entry_and_ignores_a_short_tail() {
        // Given: zero padding after an accepted entry (type 0 ends the list) — even if a refused
        // type's bytes follow, they are unused space, as in Token-2022's own parser
        let mut data = mint_2022(&[(18, 64), (0, 0)]);
        data.extend_from_slice(&extension::PERMANENT_DELEGATE.to_le_bytes());
        assert_eq!(check_mint(&data, true), Ok(6));
        // Given: fewer than 4 bytes after the last entry: no further header to read
        let mut tail = mint_2022(&[(18, 64)]);
        tail.extend_from_slice(&[12, 0]);
        assert_eq!(check_mint(&tail, true), Ok(6));
    }

    #[test]
    fn error_invalid_mint() {
        let uninitialized = [0u8; MINT_LEN];
        assert_eq!(check_mint(&uninitialized, false), Err(PayoutError::InvalidMint));
        // Extension data under the classic program, or a truncated TLV entry.
        assert_eq!(check_mint(&mint_2022(&[(18, 64)]), false), Err(PayoutError::InvalidMint));
        let mut truncated = mint_2022(&[(18, 64)]);
        truncated.truncate(truncated.len() - 1);
        assert_eq!(check_mint(&truncated, true), Err(PayoutError::InvalidMint));
    }
}
