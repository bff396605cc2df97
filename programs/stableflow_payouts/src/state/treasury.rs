//! `Treasury` account: one per (mint, founding authority, organization); owns the vault and
//! records totals.

use crate::abi::{fields_size, FieldSpec, FieldType, TypeSpec};
use crate::discriminator;
use crate::error::PayoutError;
use core::mem::{align_of, size_of};
use pinocchio::Address;

/// Zero-copy view of the account data: 8-byte discriminator then borsh fields. Every field is
/// a byte array, so the struct has alignment 1 and can be cast from any data pointer.
#[repr(C)]
pub struct Treasury {
    discriminator: [u8; 8],
    pub authority: Address,
    pub mint: Address,
    pub token_program: Address,
    pub vault: Address,
    /// The authority that initialized the treasury: part of its address, never changed.
    pub seed_authority: Address,
    pub org_id: [u8; 16],
    pub bump: u8,
    pub vault_bump: u8,
    paused: u8,
    total_settled: [u8; 8],
    splits_executed: [u8; 8],
}

const _: () = assert!(align_of::<Treasury>() == 1);
const _: () = assert!(size_of::<Treasury>() == Treasury::LEN);

impl Treasury {
    pub const NAME: &'static str = "Treasury";
    pub const DISCRIMINATOR: [u8; 8] = discriminator::account(Self::NAME);
    pub const FIELDS: &'static [FieldSpec] = &[
        FieldSpec { name: "authority", ty: FieldType::Pubkey },
        FieldSpec { name: "mint", ty: FieldType::Pubkey },
        FieldSpec { name: "token_program", ty: FieldType::Pubkey },
        FieldSpec { name: "vault", ty: FieldType::Pubkey },
        FieldSpec { name: "seed_authority", ty: FieldType::Pubkey },
        FieldSpec { name: "org_id", ty: FieldType::Bytes(16) },
        FieldSpec { name: "bump", ty: FieldType::U8 },
        FieldSpec { name: "vault_bump", ty: FieldType::U8 },
        FieldSpec { name: "paused", ty: FieldType::Bool },
        FieldSpec { name: "total_settled", ty: FieldType::U64 },
        FieldSpec { name: "splits_executed", ty: FieldType::U64 },
    ];
    pub const LEN: usize = 8 + fields_size(Self::FIELDS);
    pub const SPEC: TypeSpec = TypeSpec {
        name: Self::NAME,
        docs: "Holds the vault for one mint and organization; its authority approves splits. The address derives from seed_authority (the founding authority), which set_authority never changes.",
        discriminator: Self::DISCRIMINATOR,
        fields: Self::FIELDS,
    };

    /// Views initialized treasury data; refuses a wrong length or discriminator.
    #[inline(always)]
    pub fn from_bytes(data: &[u8]) -> Result<&Self, PayoutError> {
        if data.len() != Self::LEN || data[..8] != Self::DISCRIMINATOR {
            return Err(PayoutError::InvalidTreasury);
        }
        // SAFETY: length checked above, alignment is 1 and every bit pattern is valid.
        Ok(unsafe { &*(data.as_ptr() as *const Self) })
    }

    /// Mutable view of initialized treasury data.
    #[inline(always)]
    pub fn from_bytes_mut(data: &mut [u8]) -> Result<&mut Self, PayoutError> {
        if data.len() != Self::LEN || data[..8] != Self::DISCRIMINATOR {
            return Err(PayoutError::InvalidTreasury);
        }
        // SAFETY: as in `from_bytes`, and the exclusive borrow of `data` is carried over.
        Ok(unsafe { &mut *(data.as_mut_ptr() as *mut Self) })
    }

    /// Writes a fresh treasury into zeroed account data of exactly `LEN` bytes.
    pub fn init(data: &mut [u8], fields: &TreasuryInit) -> Result<(), PayoutError> {
        if data.len() != Self::LEN {
            return Err(PayoutError::InvalidTreasury);
        }
        data[..8].copy_from_slice(&Self::DISCRIMINATOR);
        let treasury = Self::from_bytes_mut(data)?;
        treasury.authority = fields.authority.clone();
        treasury.mint = fields.mint.clone();
        treasury.token_program = fields.token_program.clone();
        treasury.vault = fields.vault.clone();
        treasury.seed_authority = fields.authority.clone();
        treasury.org_id = fields.org_id;
        treasury.bump = fields.bump;
        treasury.vault_bump = fields.vault_bump;
        treasury.paused = 0;
        treasury.total_settled = [0; 8];
        treasury.splits_executed = [0; 8];
        Ok(())
    }

    /// The PDA seeds of this treasury with its bump: `["treasury", mint, seed_authority, org_id, bump]`.
    #[inline(always)]
    pub fn pda_seeds<'a>(&'a self, bump: &'a [u8; 1]) -> [&'a [u8]; 5] {
        crate::state::seeds::treasury(self.mint.as_ref(), self.seed_authority.as_ref(), &self.org_id, bump)
    }

    /// The same seeds as signer seeds for a CPI the treasury PDA signs.
    #[inline(always)]
    pub fn signer_seeds<'a>(&'a self, bump: &'a [u8; 1]) -> [pinocchio::cpi::Seed<'a>; 5] {
        self.pda_seeds(bump).map(pinocchio::cpi::Seed::from)
    }

    #[inline(always)]
    pub fn paused(&self) -> bool {
        self.paused != 0
    }
    #[inline(always)]
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused as u8;
    }
    #[inline(always)]
    pub fn total_settled(&self) -> u64 {
        u64::from_le_bytes(self.total_settled)
    }
    #[inline(always)]
    pub fn splits_executed(&self) -> u64 {
        u64::from_le_bytes(self.splits_executed)
    }

    /// Adds one executed split of `total` to the running totals, refusing overflow.
    pub fn record_split(&mut self, total: u64) -> Result<(), PayoutError> {
        let settled = self.total_settled().checked_add(total).ok_or(PayoutError::AmountOverflow)?;
        let splits = self.splits_executed().checked_add(1).ok_or(PayoutError::AmountOverflow)?;
        self.total_settled = settled.to_le_bytes();
        self.splits_executed = splits.to_le_bytes();
        Ok(())
    }
}

/// Values for a new treasury; `authority` is also recorded as its `seed_authority`.
pub struct TreasuryInit {
    pub authority: Address,
    pub mint: Address,
    pub token_program: Address,
    pub vault: Address,
    pub org_id: [u8; 16],
    pub bump: u8,
    pub vault_bump: u8,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    fn sample() -> TreasuryInit {
        TreasuryInit {
            authority: Address::new_from_array([1; 32]),
            mint: Address::new_from_array([2; 32]),
            token_program: Address::new_from_array([3; 32]),
            vault: Address::new_from_array([4; 32]),
            org_id: [5; 16],
            bump: 254,
            vault_bump: 253,
        }
    }

    #[test]
    fn layout_matches_the_idl_fields() {
        // The struct offsets must equal the borsh offsets implied by FIELDS.
        assert_eq!(Treasury::LEN, 203);
        assert_eq!(offset_of!(Treasury, authority), 8);
        assert_eq!(offset_of!(Treasury, seed_authority), 8 + 128);
        assert_eq!(offset_of!(Treasury, org_id), 8 + 160);
        assert_eq!(offset_of!(Treasury, bump), 184);
        assert_eq!(offset_of!(Treasury, total_settled), 187);
        assert_eq!(offset_of!(Treasury, splits_executed), 195);
    }

    #[test]
    fn init_then_read_round_trips_as_borsh() {
        // Given zeroed account data, When a treasury is written,
        let mut data = [0u8; Treasury::LEN];
        Treasury::init(&mut data, &sample()).unwrap();
        // Then the bytes are the borsh encoding Anchor's coder expects.
        assert_eq!(data[..8], Treasury::DISCRIMINATOR);
        assert_eq!(data[8..40], [1; 32]);
        // The founding authority is recorded as the seed authority.
        assert_eq!(data[136..168], [1; 32]);
        assert_eq!(data[168..184], [5; 16]);
        assert_eq!(data[184..187], [254, 253, 0]);
        let t = Treasury::from_bytes(&data).unwrap();
        let bump = [t.bump];
        let seeds = t.pda_seeds(&bump);
        assert_eq!((seeds[1], seeds[2], seeds[3], seeds[4]), (&[2u8; 32][..], &[1u8; 32][..], &[5u8; 16][..], &[254u8][..]));
        assert!(!t.paused());
        assert_eq!((t.total_settled(), t.splits_executed()), (0, 0));
    }

    #[test]
    fn totals_accumulate_and_refuse_overflow() {
        let mut data = [0u8; Treasury::LEN];
        Treasury::init(&mut data, &sample()).unwrap();
        let t = Treasury::from_bytes_mut(&mut data).unwrap();
        t.record_split(700).unwrap();
        t.record_split(300).unwrap();
        assert_eq!((t.total_settled(), t.splits_executed()), (1000, 2));
        assert_eq!(t.record_split(u64::MAX), Err(PayoutError::AmountOverflow));
        // Before and after: a refused update leaves the totals as they were.
        assert_eq!((t.total_settled(), t.splits_executed()), (1000, 2));
        assert_eq!(u64::from_le_bytes(data[187..195].try_into().unwrap()), 1000);
    }

    #[test]
    fn error_wrong_discriminator_or_length() {
        let mut data = [0u8; Treasury::LEN];
        Treasury::init(&mut data, &sample()).unwrap();
        data[0] ^= 1;
        assert!(matches!(Treasury::from_bytes(&data), Err(PayoutError::InvalidTreasury)));
        data[0] ^= 1;
        assert!(matches!(Treasury::from_bytes(&data[..Treasury::LEN - 1]), Err(PayoutError::InvalidTreasury)));
    }
}
