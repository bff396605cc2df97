//! Cross-program invocations of the System and Token programs, written out by hand: each
//! builds its instruction data on the stack and takes its accounts through one struct, which
//! keeps every call within LLVM BPF's five-argument limit and the token program id explicit
//! (a treasury uses SPL Token or Token-2022, fixed at initialization).

use crate::state::token::{SYSTEM_PROGRAM_ID, TOKEN_ACCOUNT_LEN, TOKEN_2022_PROGRAM_ID};
use pinocchio::address::address_eq;
use pinocchio::cpi::{invoke_signed, Signer};
use pinocchio::error::ProgramError;
use pinocchio::instruction::{InstructionAccount, InstructionView};
use pinocchio::{AccountView, Address, ProgramResult};

/// Token `TransferChecked` (instruction 12): `from` -> `to`, signed by `authority`.
pub struct TransferChecked<'a> {
    pub token_program: &'a Address,
    pub from: &'a AccountView,
    pub mint: &'a AccountView,
    pub to: &'a AccountView,
    pub authority: &'a AccountView,
    pub decimals: u8,
}

impl TransferChecked<'_> {
    pub const DISCRIMINATOR: u8 = 12;

    #[inline(always)]
    pub fn invoke_signed(&self, amount: u64, signers: &[Signer]) -> ProgramResult {
        let mut data = [0u8; 10];
        data[0] = Self::DISCRIMINATOR;
        data[1..9].copy_from_slice(&amount.to_le_bytes());
        data[9] = self.decimals;
        let metas = [
            InstructionAccount::writable(self.from.address()),
            InstructionAccount::readonly(self.mint.address()),
            InstructionAccount::writable(self.to.address()),
            InstructionAccount::readonly_signer(self.authority.address()),
        ];
        let instruction = InstructionView { program_id: self.token_program, data: &data, accounts: &metas };
        invoke_signed(&instruction, &[self.from, self.mint, self.to, self.authority], signers)
    }
}

/// Creates a program-derived account of `space` bytes owned by `owner`, paid by `payer`.
///
/// When someone has already sent lamports to the address (which would make `CreateAccount`
/// fail and block the PDA for good), it tops up, allocates and assigns instead.
pub struct CreatePda<'a> {
    pub payer: &'a AccountView,
    pub account: &'a AccountView,
    pub owner: &'a Address,
    pub space: u64,
    pub lamports: u64,
}

impl CreatePda<'_> {
    #[inline(never)]
    pub fn invoke_signed(&self, signer: &[Signer]) -> ProgramResult {
        let current = self.account.lamports();
        if current == 0 {
            let mut data = [0u8; 52];
            data[4..12].copy_from_slice(&self.lamports.to_le_bytes());
            data[12..20].copy_from_slice(&self.space.to_le_bytes());
            data[20..52].copy_from_slice(self.owner.as_ref());
            let metas = [
                InstructionAccount::writable_signer(self.payer.address()),
                InstructionAccount::writable_signer(self.account.address()),
            ];
            let instruction = InstructionView { program_id: &SYSTEM_PROGRAM_ID, data: &data, accounts: &metas };
            return invoke_signed(&instruction, &[self.payer, self.account], signer);
        }
        if current < self.lamports {
            let top_up = self.lamports - current;
            let mut data = [0u8; 12];
            data[0] = 2;
            data[4..12].copy_from_slice(&top_up.to_le_bytes());
            let metas = [
                InstructionAccount::writable_signer(self.payer.address()),
                InstructionAccount::writable(self.account.address()),
            ];
            let instruction = InstructionView { program_id: &SYSTEM_PROGRAM_ID, data: &data, accounts: &metas };
            invoke_signed(&instruction, &[self.payer, self.account], &[])?;
        }
        let metas = [InstructionAccount::writable_signer(self.account.address())];
        let mut allocate = [0u8; 12];
        allocate[0] = 8;
        allocate[4..12].copy_from_slice(&self.space.to_le_bytes());
        let instruction = InstructionView { program_id: &SYSTEM_PROGRAM_ID, data: &allocate, accounts: &metas };
        invoke_signed(&instruction, &[self.account], signer)?;
        let mut assign = [0u8; 36];
        assign[0] = 1;
        assign[4..36].copy_from_slice(self.owner.as_ref());
        let instruction = InstructionView { program_id: &SYSTEM_PROGRAM_ID, data: &assign, accounts: &metas };
        invoke_signed(&instruction, &[self.account], signer)
    }
}

/// Token `InitializeAccount3` (instruction 18): makes `account` a token account of `mint`
/// whose owner (transfer authority) is `owner`.
pub struct InitializeAccount3<'a> {
    pub token_program: &'a Address,
    pub account: &'a AccountView,
    pub mint: &'a AccountView,
    pub owner: &'a Address,
}

impl InitializeAccount3<'_> {
    pub fn invoke(&self) -> ProgramResult {
        let mut data = [0u8; 33];
        data[0] = 18;
        data[1..33].copy_from_slice(self.owner.as_ref());
        let metas = [
            InstructionAccount::writable(self.account.address()),
            InstructionAccount::readonly(self.mint.address()),
        ];
        let instruction = InstructionView { program_id: self.token_program, data: &data, accounts: &metas };
        invoke_signed(&instruction, &[self.account, self.mint], &[])
    }
}

/// Size a token account of `mint` needs: 165 for SPL Token; for Token-2022 the program says
/// (`GetAccountDataSize`, instruction 21), since some mint extensions require account extensions.
pub fn token_account_size(token_program: &Address, mint: &AccountView) -> Result<u64, ProgramError> {
    if !address_eq(token_program, &TOKEN_2022_PROGRAM_ID) {
        return Ok(TOKEN_ACCOUNT_LEN as u64);
    }
    let data = [21u8];
    let metas = [InstructionAccount::readonly(mint.address())];
    let instruction = InstructionView { program_id: token_program, data: &data, accounts: &metas };
    invoke_signed(&instruction, &[mint], &[])?;
    return_data_u64(token_program)
}

/// Reads a u64 set as return data by `program`.
fn return_data_u64(program: &Address) -> Result<u64, ProgramError> {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        let mut value = [0u8; 8];
        let mut from = [0u8; 32];
        // SAFETY: `value` and `from` are writable buffers of the lengths passed; the syscall
        // copies at most `value.len()` bytes and always 32 bytes of program id.
        let size = unsafe {
            pinocchio::syscalls::sol_get_return_data(value.as_mut_ptr(), value.len() as u64, from.as_mut_ptr())
        };
        if size != 8 || !address_eq(&Address::new_from_array(from), program) {
            return Err(ProgramError::InvalidAccountData);
        }
        Ok(u64::from_le_bytes(value))
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    {
        core::hint::black_box(program);
        Err(ProgramError::InvalidAccountData)
    }
}
