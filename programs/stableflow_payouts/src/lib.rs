//! `stableflow_payouts`: splits a treasury's stablecoin vault across recipient token accounts.
//! no_std pinocchio program with Anchor's ABI (discriminators, borsh layouts, IDL, errors from 6000).
#![no_std]

#[cfg(test)]
extern crate std;

pub mod abi;
pub mod cpi;
pub mod discriminator;
pub mod entrypoint;
pub mod error;
pub mod events;
pub mod instructions;
pub mod plan;
pub mod state;
pub mod sys;

#[cfg(not(any(target_arch = "bpf", target_os = "solana")))]
pub mod idl;

#[cfg(test)]
mod testing;

use pinocchio::Address;

/// The program id, also in `Anchor.toml` and the IDL's `address` (checked by host tests).
pub const ID_BASE58: &str = "DBuDXnZA4a26NJRbdSMkMcTGf8LJoYL8YPJvkqZ5rCTa";
pub const ID: Address = Address::from_str_const(ID_BASE58);

pub use instructions::execute_split::MAX_RECIPIENTS;
