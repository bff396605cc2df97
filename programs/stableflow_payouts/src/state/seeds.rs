//! PDA seeds: the only place they are spelled. The program, the IDL and (through the IDL's
//! constants and account seeds) the TypeScript client all derive addresses from these.
//!
//! - Treasury: `["treasury", mint, seed_authority, org_id (16 bytes)]`. `seed_authority` is the
//!   authority that initialized the treasury and signed for it (decision 007): nobody can create
//!   a treasury at an address derived from someone else's key. `set_authority` hands control to
//!   another key but the address keeps deriving from the founding one, which the account stores.
//! - Vault token account: `["vault", treasury]`
//! - SplitRecord: `["split", treasury, run_id (16 bytes), batch_index (u16 LE)]`

use crate::abi::SeedSpec;

pub const TREASURY_SEED: &[u8] = b"treasury";
pub const VAULT_SEED: &[u8] = b"vault";
pub const SPLIT_SEED: &[u8] = b"split";

/// The treasury PDA's seeds, then its bump (pass `&seeds[..4]` to derive, all five to sign).
#[inline(always)]
pub fn treasury<'a>(mint: &'a [u8], seed_authority: &'a [u8], org_id: &'a [u8; 16], bump: &'a [u8; 1]) -> [&'a [u8]; 5] {
    [TREASURY_SEED, mint, seed_authority, org_id, bump]
}

/// The split record PDA's seeds, then its bump (`&seeds[..4]` to derive).
#[inline(always)]
pub fn split_record<'a>(treasury: &'a [u8], run_id: &'a [u8; 16], batch_index_le: &'a [u8; 2], bump: &'a [u8; 1]) -> [&'a [u8]; 5] {
    [SPLIT_SEED, treasury, run_id, batch_index_le, bump]
}

/// The vault PDA's seeds, then its bump.
#[inline(always)]
pub fn vault<'a>(treasury: &'a [u8], bump: &'a [u8; 1]) -> [&'a [u8]; 3] {
    [VAULT_SEED, treasury, bump]
}

/// The same seed lists as the IDL describes them, for instructions whose accounts name the
/// seed parts (`initialize_treasury` and `execute_split`).
pub const TREASURY_PDA_AT_INIT: &[SeedSpec] =
    &[SeedSpec::Const(TREASURY_SEED), SeedSpec::Account("mint"), SeedSpec::Account("authority"), SeedSpec::Arg("org_id")];
pub const VAULT_PDA: &[SeedSpec] = &[SeedSpec::Const(VAULT_SEED), SeedSpec::Account("treasury")];
pub const SPLIT_RECORD_PDA: &[SeedSpec] =
    &[SeedSpec::Const(SPLIT_SEED), SeedSpec::Account("treasury"), SeedSpec::Arg("run_id"), SeedSpec::Arg("batch_index")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn treasury_seeds_put_the_authority_between_mint_and_org() {
        // Given distinct parts, Then they come out in the documented order, bump last.
        let seeds = treasury(&[1; 32], &[2; 32], &[3; 16], &[254]);
        assert_eq!(seeds[0], b"treasury");
        assert_eq!((seeds[1][0], seeds[2][0], seeds[3][0], seeds[4]), (1, 2, 3, &[254u8][..]));
        assert_eq!(seeds[3].len(), 16);
    }

    #[test]
    fn split_record_seeds_end_with_the_batch_index_le() {
        let batch_index_le = 0x0102u16.to_le_bytes();
        let seeds = split_record(&[9; 32], &[7; 16], &batch_index_le, &[255]);
        assert_eq!(seeds[0], b"split");
        assert_eq!(seeds[3], &[0x02, 0x01]);
    }
}
