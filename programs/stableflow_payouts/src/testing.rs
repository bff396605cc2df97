//! Test-only: runtime account records laid out as the loader serializes them (header, then
//! data), so instruction handlers can run on the host for checks that need no syscall.

use pinocchio::account::{RuntimeAccount, NOT_BORROWED};
use pinocchio::{AccountView, Address};
use std::vec;
use std::vec::Vec;

pub struct FakeAccount {
    words: Vec<u64>,
}

impl FakeAccount {
    pub fn new(address: &Address, owner: &Address, flags: (bool, bool), data: &[u8]) -> Self {
        let (is_signer, is_writable) = flags;
        let header = core::mem::size_of::<RuntimeAccount>();
        let mut words = vec![0u64; (header + data.len()).div_ceil(8)];
        let raw = words.as_mut_ptr() as *mut RuntimeAccount;
        let record = RuntimeAccount {
            borrow_state: NOT_BORROWED,
            is_signer: is_signer as u8,
            is_writable: is_writable as u8,
            address: address.clone(),
            owner: owner.clone(),
            lamports: 1_000_000,
            data_len: data.len() as u64,
            ..Default::default()
        };
        // SAFETY: `words` is 8-byte aligned and long enough for the header followed by the data.
        unsafe {
            raw.write(record);
            core::ptr::copy_nonoverlapping(data.as_ptr(), raw.add(1) as *mut u8, data.len());
        }
        Self { words }
    }

    pub fn view(&mut self) -> AccountView {
        // SAFETY: the record lives as long as `self`; tests drop views before the account.
        unsafe { AccountView::new_unchecked(self.words.as_mut_ptr() as *mut RuntimeAccount) }
    }

    pub fn data(&mut self) -> Vec<u8> {
        let view = self.view();
        // SAFETY: no other view of the data is alive in the test.
        unsafe { view.borrow_unchecked() }.to_vec()
    }
}

pub fn address(byte: u8) -> Address {
    Address::new_from_array([byte; 32])
}
