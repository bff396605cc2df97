//! Static descriptions of the program's ABI (instructions, accounts, events, errors).
//! The program's own code reads its discriminators and layouts from the same items, and the
//! host IDL generator turns them into `idl/stableflow_payouts.json`, so the two cannot drift.

/// A borsh field type as it appears in the IDL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Pubkey,
    Bool,
    U8,
    U16,
    U32,
    U64,
    I64,
    /// `[u8; N]`
    Bytes(usize),
    /// `Vec<u64>` (u32 little-endian length, then the elements)
    VecU64,
}

impl FieldType {
    /// Encoded size in bytes; `None` for variable-length types.
    pub const fn fixed_size(self) -> Option<usize> {
        match self {
            FieldType::Pubkey => Some(32),
            FieldType::Bool | FieldType::U8 => Some(1),
            FieldType::U16 => Some(2),
            FieldType::U32 => Some(4),
            FieldType::U64 | FieldType::I64 => Some(8),
            FieldType::Bytes(n) => Some(n),
            FieldType::VecU64 => None,
        }
    }
}

/// A named field of an account, event or instruction argument list.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
}

/// Sum of the fixed sizes of `fields` (panics at compile time on a variable-length field).
pub const fn fields_size(fields: &[FieldSpec]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < fields.len() {
        total += match fields[i].ty.fixed_size() {
            Some(n) => n,
            None => panic!("variable-length field in a fixed layout"),
        };
        i += 1;
    }
    total
}

/// One part of a PDA seed list, as Anchor's IDL describes it.
#[derive(Clone, Copy, Debug)]
pub enum SeedSpec {
    Const(&'static [u8]),
    /// The address of another account of the same instruction.
    Account(&'static str),
    /// An instruction argument, borsh-encoded.
    Arg(&'static str),
}

/// One account of an instruction, in order.
#[derive(Clone, Copy, Debug)]
pub struct AccountSpec {
    pub name: &'static str,
    pub writable: bool,
    pub signer: bool,
    pub docs: &'static str,
    /// Seeds when the address is a PDA of this program that the client can derive from the
    /// instruction alone; empty otherwise.
    pub pda: &'static [SeedSpec],
    /// A fixed address (base58), for well-known programs.
    pub address: Option<&'static str>,
}

impl AccountSpec {
    pub const fn new(name: &'static str, writable: bool, signer: bool, docs: &'static str) -> Self {
        Self { name, writable, signer, docs, pda: &[], address: None }
    }
    pub const fn with_pda(self, pda: &'static [SeedSpec]) -> Self {
        Self { pda, ..self }
    }
    pub const fn with_address(self, address: &'static str) -> Self {
        Self { address: Some(address), ..self }
    }
}

/// One instruction: name, discriminator, accounts in order, arguments in order.
#[derive(Clone, Copy, Debug)]
pub struct InstructionSpec {
    pub name: &'static str,
    pub docs: &'static str,
    pub discriminator: [u8; 8],
    pub accounts: &'static [AccountSpec],
    pub args: &'static [FieldSpec],
}

/// An account or event type: name, discriminator and borsh fields after the discriminator.
#[derive(Clone, Copy, Debug)]
pub struct TypeSpec {
    pub name: &'static str,
    pub docs: &'static str,
    pub discriminator: [u8; 8],
    pub fields: &'static [FieldSpec],
}

/// A custom program error.
#[derive(Clone, Copy, Debug)]
pub struct ErrorSpec {
    pub code: u32,
    pub name: &'static str,
    pub msg: &'static str,
}
