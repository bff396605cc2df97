//! `SplitRecord` account: written once per executed batch; its existence is the on-chain
//! idempotency guard and what recipients verify their payout against.

use crate::abi::{fields_size, FieldSpec, FieldType, TypeSpec};
use crate::discriminator;
use crate::error::PayoutError;
use core::mem::{align_of, size_of};
use pinocchio::Address;

/// Zero-copy view: discriminator then borsh fields, alignment 1.
#[repr(C)]
pub struct SplitRecord {
    discriminator: [u8; 8],
    pub treasury: Address,
    pub run_id: [u8; 16],
    batch_index: [u8; 2],
    recipient_count: [u8; 2],
    total: [u8; 8],
    pub plan_hash: [u8; 32],
    slot: [u8; 8],
    unix_timestamp: [u8; 8],
    pub executor: Address,
    pub bump: u8,
}

const _: () = assert!(align_of::<SplitRecord>() == 1);
const _: () = assert!(size_of::<SplitRecord>() == SplitRecord::LEN);

/// Values recorded for one executed batch.
pub struct SplitRecordInit<'a> {
    pub treasury: &'a Address,
    pub run_id: &'a [u8; 16],
    pub batch_index: u16,
    pub recipient_count: u16,
    pub total: u64,
    pub plan_hash: &'a [u8; 32],
    pub slot: u64,
    pub unix_timestamp: i64,
    pub executor: &'a Address,
    pub bump: u8,
}

impl SplitRecord {
    pub const NAME: &'static str = "SplitRecord";
    pub const DISCRIMINATOR: [u8; 8] = discriminator::account(Self::NAME);
    pub const FIELDS: &'static [FieldSpec] = &[
        FieldSpec { name: "treasury", ty: FieldType::Pubkey },
        FieldSpec { name: "run_id", ty: FieldType::Bytes(16) },
        FieldSpec { name: "batch_index", ty: FieldType::U16 },
        FieldSpec { name: "recipient_count", ty: FieldType::U16 },
        FieldSpec { name: "total", ty: FieldType::U64 },
        FieldSpec { name: "plan_hash", ty: FieldType::Bytes(32) },
        FieldSpec { name: "slot", ty: FieldType::U64 },
        FieldSpec { name: "unix_timestamp", ty: FieldType::I64 },
        FieldSpec { name: "executor", ty: FieldType::Pubkey },
        FieldSpec { name: "bump", ty: FieldType::U8 },
    ];
    pub const LEN: usize = 8 + fields_size(Self::FIELDS);
    pub const SPEC: TypeSpec = TypeSpec {
        name: Self::NAME,
        docs: "One executed split batch: who was paid what is fixed by plan_hash.",
        discriminator: Self::DISCRIMINATOR,
        fields: Self::FIELDS,
    };

    /// Writes the record into freshly allocated (zeroed) data of exactly `LEN` bytes.
    pub fn write(data: &mut [u8], init: &SplitRecordInit) -> Result<(), PayoutError> {
        if data.len() != Self::LEN {
            return Err(PayoutError::InvalidSplitRecord);
        }
        // SAFETY: length checked above; alignment 1; every bit pattern is valid.
        let record = unsafe { &mut *(data.as_mut_ptr() as *mut Self) };
        record.discriminator = Self::DISCRIMINATOR;
        record.treasury = init.treasury.clone();
        record.run_id = *init.run_id;
        record.batch_index = init.batch_index.to_le_bytes();
        record.recipient_count = init.recipient_count.to_le_bytes();
        record.total = init.total.to_le_bytes();
        record.plan_hash = *init.plan_hash;
        record.slot = init.slot.to_le_bytes();
        record.unix_timestamp = init.unix_timestamp.to_le_bytes();
        record.executor = init.executor.clone();
        record.bump = init.bump;
        Ok(())
    }

    /// Views written record data; refuses a wrong length or discriminator.
    pub fn from_bytes(data: &[u8]) -> Result<&Self, PayoutError> {
        if data.len() != Self::LEN || data[..8] != Self::DISCRIMINATOR {
            return Err(PayoutError::InvalidSplitRecord);
        }
        // SAFETY: length checked above; alignment 1; every bit pattern is valid.
        Ok(unsafe { &*(data.as_ptr() as *const Self) })
    }

    pub fn batch_index(&self) -> u16 {
        u16::from_le_bytes(self.batch_index)
    }
    pub fn recipient_count(&self) -> u16 {
        u16::from_le_bytes(self.recipient_count)
    }
    pub fn total(&self) -> u64 {
        u64::from_le_bytes(self.total)
    }
    pub fn slot(&self) -> u64 {
        u64::from_le_bytes(self.slot)
    }
    pub fn unix_timestamp(&self) -> i64 {
        i64::from_le_bytes(self.unix_timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn layout_matches_the_idl_fields() {
        assert_eq!(SplitRecord::LEN, 149);
        assert_eq!(offset_of!(SplitRecord, batch_index), 56);
        assert_eq!(offset_of!(SplitRecord, plan_hash), 68);
        assert_eq!(offset_of!(SplitRecord, executor), 116);
        assert_eq!(offset_of!(SplitRecord, bump), 148);
    }

    #[test]
    fn write_then_read_round_trips_as_borsh() {
        // Given a batch's values, When written and read back,
        let treasury = Address::new_from_array([9; 32]);
        let executor = Address::new_from_array([8; 32]);
        let init = SplitRecordInit {
            treasury: &treasury,
            run_id: &[7; 16],
            batch_index: 0x0102,
            recipient_count: 45,
            total: 1_000_000,
            plan_hash: &[6; 32],
            slot: 77,
            unix_timestamp: -5,
            executor: &executor,
            bump: 250,
        };
        let mut data = [0u8; SplitRecord::LEN];
        SplitRecord::write(&mut data, &init).unwrap();
        // Then the fields are little-endian borsh in IDL order.
        assert_eq!(data[56..58], [0x02, 0x01]);
        assert_eq!(data[108..116], (-5i64).to_le_bytes());
        let r = SplitRecord::from_bytes(&data).unwrap();
        assert_eq!((r.batch_index(), r.recipient_count(), r.total()), (0x0102, 45, 1_000_000));
        assert_eq!((r.slot(), r.unix_timestamp(), r.bump), (77, -5, 250));
        assert_eq!(r.executor, executor);
    }

    #[test]
    fn error_wrong_length_or_discriminator() {
        let mut data = [0u8; SplitRecord::LEN];
        assert!(matches!(SplitRecord::from_bytes(&data), Err(PayoutError::InvalidSplitRecord)));
        assert!(matches!(SplitRecord::write(&mut data[..10], &dummy()), Err(PayoutError::InvalidSplitRecord)));
    }

    fn dummy() -> SplitRecordInit<'static> {
        static ADDR: Address = Address::new_from_array([0; 32]);
        SplitRecordInit {
            treasury: &ADDR,
            run_id: &[0; 16],
            batch_index: 0,
            recipient_count: 0,
            total: 0,
            plan_hash: &[0; 32],
            slot: 0,
            unix_timestamp: 0,
            executor: &ADDR,
            bump: 0,
        }
    }
}
