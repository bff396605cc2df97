//! Events, emitted as one `sol_log_data` slice: 8-byte Anchor event discriminator + borsh.
//! Anchor's `EventParser` decodes them from the `Program data: <base64>` log line.

use crate::abi::{fields_size, FieldSpec, FieldType, TypeSpec};
use crate::discriminator;
use crate::sys;
use pinocchio::Address;

/// Appends fields into a fixed buffer; the LEN constants come from the same FIELDS lists.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    #[inline(always)]
    fn new(buf: &'a mut [u8], discriminator: &[u8; 8]) -> Self {
        let mut writer = Self { buf, pos: 0 };
        writer.put(discriminator);
        writer
    }
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        self.buf[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
    }
}

macro_rules! event_spec {
    ($name:literal, $docs:literal, [$($field:literal : $ty:expr),* $(,)?]) => {
        pub const NAME: &'static str = $name;
        pub const DISCRIMINATOR: [u8; 8] = discriminator::event($name);
        pub const FIELDS: &'static [FieldSpec] = &[$(FieldSpec { name: $field, ty: $ty }),*];
        pub const LEN: usize = 8 + fields_size(Self::FIELDS);
        pub const SPEC: TypeSpec = TypeSpec {
            name: $name,
            docs: $docs,
            discriminator: Self::DISCRIMINATOR,
            fields: Self::FIELDS,
        };
        /// Logs the event for indexers and Anchor's event parser.
        #[inline(always)]
        pub fn emit(&self) {
            let bytes = self.encode();
            sys::log_data(&[&bytes]);
        }
    };
}

pub struct SplitExecuted {
    pub treasury: Address,
    pub run_id: [u8; 16],
    pub batch_index: u16,
    pub recipient_count: u16,
    pub total: u64,
    pub plan_hash: [u8; 32],
    pub slot: u64,
}

impl SplitExecuted {
    event_spec!("SplitExecuted", "A split batch paid its recipients.", [
        "treasury": FieldType::Pubkey,
        "run_id": FieldType::Bytes(16),
        "batch_index": FieldType::U16,
        "recipient_count": FieldType::U16,
        "total": FieldType::U64,
        "plan_hash": FieldType::Bytes(32),
        "slot": FieldType::U64,
    ]);

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut buf = [0u8; Self::LEN];
        let mut w = Writer::new(&mut buf, &Self::DISCRIMINATOR);
        w.put(self.treasury.as_ref());
        w.put(&self.run_id);
        w.put(&self.batch_index.to_le_bytes());
        w.put(&self.recipient_count.to_le_bytes());
        w.put(&self.total.to_le_bytes());
        w.put(&self.plan_hash);
        w.put(&self.slot.to_le_bytes());
        debug_assert_eq!(w.pos, Self::LEN);
        buf
    }
}

/// Logged by a refused `execute_split` just before it fails with `6100 + position`: which
/// recipient cannot receive and why (`reason` is the code of a `Recipient*` error). Only failed
/// transactions carry it; nothing has been transferred when it is logged.
pub struct RecipientRefused {
    pub recipient: Address,
    pub position: u16,
    pub reason: u32,
}

impl RecipientRefused {
    event_spec!("RecipientRefused", "execute_split refused the recipient at this position (its error is 6100 + position); reason is the code of the Recipient* error that says why.", [
        "recipient": FieldType::Pubkey,
        "position": FieldType::U16,
        "reason": FieldType::U32,
    ]);

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut buf = [0u8; Self::LEN];
        let mut w = Writer::new(&mut buf, &Self::DISCRIMINATOR);
        w.put(self.recipient.as_ref());
        w.put(&self.position.to_le_bytes());
        w.put(&self.reason.to_le_bytes());
        debug_assert_eq!(w.pos, Self::LEN);
        buf
    }
}

pub struct TreasuryInitialized {
    pub treasury: Address,
    pub authority: Address,
    pub mint: Address,
    pub vault: Address,
}

impl TreasuryInitialized {
    event_spec!("TreasuryInitialized", "A treasury and its vault were created.", [
        "treasury": FieldType::Pubkey,
        "authority": FieldType::Pubkey,
        "mint": FieldType::Pubkey,
        "vault": FieldType::Pubkey,
    ]);

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut buf = [0u8; Self::LEN];
        let mut w = Writer::new(&mut buf, &Self::DISCRIMINATOR);
        w.put(self.treasury.as_ref());
        w.put(self.authority.as_ref());
        w.put(self.mint.as_ref());
        w.put(self.vault.as_ref());
        debug_assert_eq!(w.pos, Self::LEN);
        buf
    }
}

pub struct Deposited {
    pub treasury: Address,
    pub depositor: Address,
    pub amount: u64,
}

impl Deposited {
    event_spec!("Deposited", "Tokens were deposited into the vault.", [
        "treasury": FieldType::Pubkey,
        "depositor": FieldType::Pubkey,
        "amount": FieldType::U64,
    ]);

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut buf = [0u8; Self::LEN];
        let mut w = Writer::new(&mut buf, &Self::DISCRIMINATOR);
        w.put(self.treasury.as_ref());
        w.put(self.depositor.as_ref());
        w.put(&self.amount.to_le_bytes());
        debug_assert_eq!(w.pos, Self::LEN);
        buf
    }
}

pub struct Withdrawn {
    pub treasury: Address,
    pub destination: Address,
    pub amount: u64,
}

impl Withdrawn {
    event_spec!("Withdrawn", "The authority withdrew tokens from the vault.", [
        "treasury": FieldType::Pubkey,
        "destination": FieldType::Pubkey,
        "amount": FieldType::U64,
    ]);

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut buf = [0u8; Self::LEN];
        let mut w = Writer::new(&mut buf, &Self::DISCRIMINATOR);
        w.put(self.treasury.as_ref());
        w.put(self.destination.as_ref());
        w.put(&self.amount.to_le_bytes());
        debug_assert_eq!(w.pos, Self::LEN);
        buf
    }
}

pub struct AuthorityChanged {
    pub treasury: Address,
    pub old_authority: Address,
    pub new_authority: Address,
}

impl AuthorityChanged {
    event_spec!("AuthorityChanged", "The treasury authority was handed over.", [
        "treasury": FieldType::Pubkey,
        "old_authority": FieldType::Pubkey,
        "new_authority": FieldType::Pubkey,
    ]);

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut buf = [0u8; Self::LEN];
        let mut w = Writer::new(&mut buf, &Self::DISCRIMINATOR);
        w.put(self.treasury.as_ref());
        w.put(self.old_authority.as_ref());
        w.put(self.new_authority.as_ref());
        debug_assert_eq!(w.pos, Self::LEN);
        buf
    }
}

pub struct PausedChanged {
    pub treasury: Address,
    pub paused: bool,
}

impl PausedChanged {
    event_spec!("PausedChanged", "Split execution was paused or resumed.", [
        "treasury": FieldType::Pubkey,
        "paused": FieldType::Bool,
    ]);

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut buf = [0u8; Self::LEN];
        let mut w = Writer::new(&mut buf, &Self::DISCRIMINATOR);
        w.put(self.treasury.as_ref());
        w.put(&[self.paused as u8]);
        debug_assert_eq!(w.pos, Self::LEN);
        buf
    }
}

/// Every event, for the IDL.
pub const ALL: &[TypeSpec] = &[
    AuthorityChanged::SPEC,
    Deposited::SPEC,
    PausedChanged::SPEC,
    RecipientRefused::SPEC,
    SplitExecuted::SPEC,
    TreasuryInitialized::SPEC,
    Withdrawn::SPEC,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_executed_encodes_as_borsh_after_the_discriminator() {
        // Given an event, When encoded, Then every field sits at its borsh offset.
        let event = SplitExecuted {
            treasury: Address::new_from_array([1; 32]),
            run_id: [2; 16],
            batch_index: 3,
            recipient_count: 45,
            total: 0x0102_0304,
            plan_hash: [5; 32],
            slot: 6,
        };
        let bytes = event.encode();
        assert_eq!(bytes.len(), 108);
        assert_eq!(bytes[..8], SplitExecuted::DISCRIMINATOR);
        assert_eq!(bytes[8..40], [1; 32]);
        assert_eq!(bytes[56..58], [3, 0]);
        assert_eq!(bytes[58..60], [45, 0]);
        assert_eq!(bytes[60..68], 0x0102_0304u64.to_le_bytes());
        assert_eq!(bytes[100..108], 6u64.to_le_bytes());
    }

    #[test]
    fn small_events_have_their_field_sizes() {
        let paused = PausedChanged { treasury: Address::new_from_array([1; 32]), paused: true }.encode();
        assert_eq!((paused.len(), paused[40]), (41, 1));
        let deposited = Deposited {
            treasury: Address::new_from_array([1; 32]),
            depositor: Address::new_from_array([2; 32]),
            amount: 9,
        }
        .encode();
        assert_eq!(deposited[72..80], 9u64.to_le_bytes());
        assert_eq!(TreasuryInitialized::LEN, 8 + 4 * 32);
        assert_eq!(AuthorityChanged::LEN, 8 + 3 * 32);
        assert_eq!(Withdrawn::LEN, 80);
        let refused = RecipientRefused { recipient: Address::new_from_array([4; 32]), position: 7, reason: 6029 }.encode();
        assert_eq!(refused.len(), 8 + 32 + 2 + 4);
        assert_eq!(refused[40..42], [7, 0]);
        assert_eq!(refused[42..46], 6029u32.to_le_bytes());
    }
}
