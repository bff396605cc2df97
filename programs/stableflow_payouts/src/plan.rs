//! The split plan hash: the one definition of the bytes a batch's `plan_hash` commits to.
//!
//! ```text
//! plan_hash = sha256(
//!     "stableflow:split-plan:v1"        24 bytes, the domain tag (PLAN_HASH_DOMAIN)
//!  || program_id                        32 bytes
//!  || treasury                          32 bytes, the treasury account's address
//!  || run_id                            16 bytes
//!  || batch_index                        2 bytes, u16 little-endian
//!  || for each recipient i, in order:
//!       recipient_token_account_i       32 bytes
//!    || amount_i                         8 bytes, u64 little-endian
//! )
//! ```
//!
//! Committing to the program, treasury, run and batch means a hash signed off for one batch can
//! never validate another batch, another treasury's or another deployment's (decision 007).

use crate::sys;
use crate::MAX_RECIPIENTS;
use pinocchio::Address;

/// The domain tag that starts every plan hash; a new layout gets a new version suffix.
pub const PLAN_HASH_DOMAIN: &[u8] = b"stableflow:split-plan:v1";

/// What a plan hash commits to besides the recipient addresses: one struct, so the hashing
/// call stays within the BPF backend's five arguments.
pub struct Plan<'a> {
    pub program_id: &'a Address,
    pub treasury: &'a Address,
    pub run_id: &'a [u8; 16],
    pub batch_index_le: &'a [u8; 2],
    /// Each amount as its eight little-endian bytes, in recipient order.
    pub amounts_le: &'a [[u8; 8]],
}

/// Number of hashed pieces before the pairs.
const HEADER_PARTS: usize = 5;

/// The plan hash of `plan` with the pairs (`keys[i]`, `plan.amounts_le[i]`), in one sha256
/// syscall over borrowed pieces (nothing is copied). At most `MAX_RECIPIENTS` pairs are read;
/// callers check the counts first.
#[inline(never)]
pub fn plan_hash<'k>(plan: &Plan, keys: impl Iterator<Item = &'k Address>) -> [u8; 32] {
    let mut parts: [&[u8]; HEADER_PARTS + 2 * MAX_RECIPIENTS] = [&[]; HEADER_PARTS + 2 * MAX_RECIPIENTS];
    parts[0] = PLAN_HASH_DOMAIN;
    parts[1] = plan.program_id.as_ref();
    parts[2] = plan.treasury.as_ref();
    parts[3] = plan.run_id;
    parts[4] = plan.batch_index_le;
    let mut used = HEADER_PARTS;
    for (key, amount) in keys.zip(plan.amounts_le).take(MAX_RECIPIENTS) {
        parts[used] = key.as_ref();
        parts[used + 1] = amount;
        used += 2;
    }
    sys::sha256(&parts[..used])
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::vec::Vec;

    fn header<'a>(program_id: &'a Address, treasury: &'a Address, run_id: &'a [u8; 16], batch: &'a [u8; 2]) -> Plan<'a> {
        Plan { program_id, treasury, run_id, batch_index_le: batch, amounts_le: &[] }
    }

    fn hash(plan: Plan, keys: &[Address], amounts_le: &[[u8; 8]]) -> [u8; 32] {
        plan_hash(&Plan { amounts_le, ..plan }, keys.iter())
    }

    #[test]
    fn is_sha256_of_the_documented_byte_layout() {
        // Given a header and three pairs,
        let (program_id, treasury) = (Address::new_from_array([0xA1; 32]), Address::new_from_array([0xB2; 32]));
        let (run_id, batch) = ([0xC3; 16], 0x0102u16.to_le_bytes());
        let keys: Vec<Address> = (1..=3u8).map(|i| Address::new_from_array([i; 32])).collect();
        let amounts = [100u64, 200, 300].map(u64::to_le_bytes);
        // When hashed over borrowed pieces,
        let hash = hash(header(&program_id, &treasury, &run_id, &batch), &keys, &amounts);
        // Then it equals sha256 over the bytes laid out by hand, in the documented order.
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"stableflow:split-plan:v1");
        bytes.extend_from_slice(&[0xA1; 32]);
        bytes.extend_from_slice(&[0xB2; 32]);
        bytes.extend_from_slice(&[0xC3; 16]);
        bytes.extend_from_slice(&[0x02, 0x01]);
        for (key, amount) in keys.iter().zip([100u64, 200, 300]) {
            bytes.extend_from_slice(key.as_ref());
            bytes.extend_from_slice(&amount.to_le_bytes());
        }
        assert_eq!(bytes.len(), 24 + 32 + 32 + 16 + 2 + 3 * 40);
        assert_eq!(hash[..], Sha256::digest(&bytes)[..]);
    }

    #[test]
    fn every_header_field_and_the_order_of_pairs_change_the_hash() {
        let (program_id, treasury, other) =
            (Address::new_from_array([1; 32]), Address::new_from_array([2; 32]), Address::new_from_array([9; 32]));
        let (run_id, other_run, batch, other_batch) = ([3; 16], [4; 16], [0, 0], [1, 0]);
        let keys = [Address::new_from_array([5; 32]), Address::new_from_array([6; 32])];
        let amounts = [7u64, 8].map(u64::to_le_bytes);
        let base = hash(header(&program_id, &treasury, &run_id, &batch), &keys, &amounts);
        // Given the same pairs under another program, treasury, run or batch, Then the hash differs.
        for changed in [
            header(&other, &treasury, &run_id, &batch),
            header(&program_id, &other, &run_id, &batch),
            header(&program_id, &treasury, &other_run, &batch),
            header(&program_id, &treasury, &run_id, &other_batch),
        ] {
            assert_ne!(hash(changed, &keys, &amounts), base);
        }
        // And so do swapped pairs or a changed amount.
        let swapped = [keys[1].clone(), keys[0].clone()];
        let swapped_amounts = [8u64, 7].map(u64::to_le_bytes);
        assert_ne!(hash(header(&program_id, &treasury, &run_id, &batch), &swapped, &swapped_amounts), base);
        let bumped = [7u64, 9].map(u64::to_le_bytes);
        assert_ne!(hash(header(&program_id, &treasury, &run_id, &batch), &keys, &bumped), base);
    }
}
