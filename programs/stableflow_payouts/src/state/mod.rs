//! Program-owned accounts, their seeds, and read-only views of token accounts.

pub mod seeds;
pub mod split_record;
pub mod token;
pub mod treasury;

pub use split_record::SplitRecord;
pub use treasury::Treasury;

use crate::abi::TypeSpec;

/// Every account type of the program, for the IDL.
pub const ACCOUNTS: &[TypeSpec] = &[SplitRecord::SPEC, Treasury::SPEC];
