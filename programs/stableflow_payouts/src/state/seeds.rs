//! PDA seeds: the only place they are spelled. The program, the IDL and (through the IDL)
//! the TypeScript client all derive addresses from these.
//!
//! - Treasury: `["treasury", mint, org_id (16 bytes)]`
//! - Vault token account: `["vault", treasury]`
//! - SplitRecord: `["split", treasury, run_id (16 bytes), batch_index (u16 LE)]`

pub const TREASURY_SEED: &[u8] = b"treasury";
pub const VAULT_SEED: &[u8] = b"vault";
pub const SPLIT_SEED: &[u8] = b"split";
