//! `execute_split(run_id, batch_index, plan_hash, amounts)`: pays one batch of a payout run
//! from the vault. Everything is validated before the first transfer; the SplitRecord PDA
//! makes a batch executable once.

use crate::abi::{AccountSpec, FieldSpec, FieldType, InstructionSpec, SeedSpec};
use crate::cpi::{CreatePda, TransferChecked};
use crate::discriminator;
use crate::error::PayoutError;
use crate::events::SplitExecuted;
use crate::instructions::Invocation;
use crate::instructions::{
    check_treasury_accounts, is_owned_by, load_treasury_at_pda, load_treasury_mut, mint_decimals, vault_balance,
};
use crate::state::seeds::{SPLIT_SEED, TREASURY_SEED};
use crate::state::split_record::{SplitRecord, SplitRecordInit};
use crate::state::token::{check_token_account, SYSTEM_PROGRAM_ID};
use crate::sys;
use pinocchio::address::address_eq;
use pinocchio::cpi::{invoke_signed_unchecked, CpiAccount, Seed, Signer};
use pinocchio::instruction::{InstructionAccount, InstructionView};
use pinocchio::{AccountView, Address, ProgramResult};

pub const NAME: &str = "execute_split";
pub const DISCRIMINATOR: [u8; 8] = discriminator::instruction(NAME);

/// Most recipients in one batch. A v0 transaction may lock 64 accounts: the 8 named accounts,
/// this program and the compute-budget program leave 54 for recipients; 50 keeps 4 spare
/// (e.g. a separate fee payer or a memo). Instruction data is 62 + 8·n bytes and, with the
/// recipients in an address lookup table, 50 recipients fit the 1232-byte packet.
pub const MAX_RECIPIENTS: usize = 50;

/// Accounts:
///   0. `[writable, signer]` payer — pays the SplitRecord rent (may be the authority)
///   1. `[signer]` authority — the treasury authority
///   2. `[writable]` treasury
///   3. `[writable]` vault — the treasury's vault
///   4. `[]` mint — the treasury's mint
///   5. `[writable]` split_record — PDA `["split", treasury, run_id, batch_index LE]`, created here
///   6. `[]` token_program — the treasury's token program
///   7. `[]` system_program
///   8.. `[writable]` recipient token accounts, one per amount, in the same order
///
/// Data: discriminator (8) · run_id `[u8; 16]` · batch_index `u16` · plan_hash `[u8; 32]` ·
/// amounts `Vec<u64>` (u32 count, then count × u64 LE).
/// plan_hash = sha256(concat over i of recipient_i (32 bytes) || amounts[i] (u64 LE)).
pub const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec::new("payer", true, true, "Pays the SplitRecord rent; may be the authority"),
    AccountSpec::new("authority", false, true, "The treasury authority"),
    AccountSpec::new("treasury", true, false, "Treasury paying the batch"),
    AccountSpec::new("vault", true, false, "The treasury's vault"),
    AccountSpec::new("mint", false, false, "The treasury's mint"),
    AccountSpec::new("split_record", true, false, "SplitRecord PDA for this batch, created here").with_pda(&[
        SeedSpec::Const(SPLIT_SEED),
        SeedSpec::Account("treasury"),
        SeedSpec::Arg("run_id"),
        SeedSpec::Arg("batch_index"),
    ]),
    AccountSpec::new("token_program", false, false, "The treasury's token program"),
    AccountSpec::new("system_program", false, false, "System program").with_address("11111111111111111111111111111111"),
];
pub const ARGS: &[FieldSpec] = &[
    FieldSpec { name: "run_id", ty: FieldType::Bytes(16) },
    FieldSpec { name: "batch_index", ty: FieldType::U16 },
    FieldSpec { name: "plan_hash", ty: FieldType::Bytes(32) },
    FieldSpec { name: "amounts", ty: FieldType::VecU64 },
];
pub const SPEC: InstructionSpec = InstructionSpec {
    name: NAME,
    docs: "Pay one batch: recipient token accounts are the remaining accounts, in the order of amounts.",
    discriminator: DISCRIMINATOR,
    accounts: ACCOUNTS,
    args: ARGS,
};

/// Instruction data after the discriminator, borrowed from the input buffer.
#[derive(Debug)]
pub struct SplitArgs<'a> {
    pub run_id: &'a [u8; 16],
    /// `batch_index` as its two little-endian bytes (a PDA seed as is).
    pub batch_index_le: &'a [u8; 2],
    pub plan_hash: &'a [u8; 32],
    amounts: &'a [[u8; 8]],
}

impl<'a> SplitArgs<'a> {
    const FIXED_LEN: usize = 16 + 2 + 32 + 4;

    /// Parses the exact borsh encoding: no truncation, no trailing bytes.
    pub fn parse(data: &'a [u8]) -> Result<Self, PayoutError> {
        let (run_id, rest) = data.split_first_chunk::<16>().ok_or(PayoutError::InvalidInstructionData)?;
        let (batch_index_le, rest) = rest.split_first_chunk::<2>().ok_or(PayoutError::InvalidInstructionData)?;
        let (plan_hash, rest) = rest.split_first_chunk::<32>().ok_or(PayoutError::InvalidInstructionData)?;
        let (count, rest) = rest.split_first_chunk::<4>().ok_or(PayoutError::InvalidInstructionData)?;
        let (amounts, trailing) = rest.as_chunks::<8>();
        if !trailing.is_empty() || amounts.len() != u32::from_le_bytes(*count) as usize {
            return Err(PayoutError::InvalidInstructionData);
        }
        debug_assert_eq!(data.len(), Self::FIXED_LEN + 8 * amounts.len());
        Ok(Self { run_id, batch_index_le, plan_hash, amounts })
    }

    pub fn batch_index(&self) -> u16 {
        u16::from_le_bytes(*self.batch_index_le)
    }
    pub fn count(&self) -> usize {
        self.amounts.len()
    }
    #[inline(always)]
    pub fn amount(&self, index: usize) -> u64 {
        u64::from_le_bytes(self.amounts[index])
    }
}

/// Recipient and amount counts: 1..=MAX_RECIPIENTS recipients, one amount each.
pub fn check_counts(recipients: usize, amounts: usize) -> Result<(), PayoutError> {
    if recipients == 0 {
        return Err(PayoutError::NoRecipients);
    }
    if recipients > MAX_RECIPIENTS {
        return Err(PayoutError::TooManyRecipients);
    }
    if recipients != amounts {
        return Err(PayoutError::AmountsCountMismatch);
    }
    Ok(())
}

/// Adds one amount to the running total: every amount is positive and the sum fits a u64.
#[inline(always)]
pub fn add_amount(total: u64, amount: u64) -> Result<u64, PayoutError> {
    if amount == 0 {
        return Err(PayoutError::ZeroAmount);
    }
    total.checked_add(amount).ok_or(PayoutError::AmountOverflow)
}

/// Whether `recipients[index]` repeats an earlier recipient, given that none before it does.
///
/// The runtime serializes an instruction's accounts in order and writes a repeated account as
/// a back-reference to its first slot, so distinct accounts sit at strictly increasing
/// addresses and a repeat's address is no greater than its predecessor's. One comparison per
/// recipient instead of a scan of all earlier ones (which cost ~6 CU per pair at 50 recipients).
#[inline(always)]
pub fn repeats_earlier(recipients: &[AccountView], index: usize) -> bool {
    index > 0 && recipients[index].account_ptr() <= recipients[index - 1].account_ptr()
}

/// sha256 over (recipient address || amount LE) for each recipient, in one syscall: the
/// pieces point into the account keys and the instruction data, nothing is copied.
#[inline(never)]
pub fn plan_hash<'k>(keys: impl Iterator<Item = &'k Address>, args: &SplitArgs) -> [u8; 32] {
    let mut parts: [&[u8]; 2 * MAX_RECIPIENTS] = [&[]; 2 * MAX_RECIPIENTS];
    let mut used = 0;
    for (index, key) in keys.take(MAX_RECIPIENTS).enumerate() {
        parts[used] = key.as_ref();
        parts[used + 1] = &args.amounts[index];
        used += 2;
    }
    sys::sha256(&parts[..used])
}

/// What every recipient is checked against.
struct RecipientRules<'a> {
    vault: &'a Address,
    mint: &'a Address,
    token_program: &'a Address,
}

fn check_recipient(rules: &RecipientRules, recipients: &[AccountView], index: usize) -> Result<(), PayoutError> {
    let recipient = &recipients[index];
    if address_eq(recipient.address(), rules.vault) {
        return Err(PayoutError::RecipientIsVault);
    }
    if !is_owned_by(recipient, rules.token_program) {
        return Err(PayoutError::RecipientNotTokenAccount);
    }
    // SAFETY: read-only view, dropped before any CPI.
    check_token_account(unsafe { recipient.borrow_unchecked() }, rules.mint)?;
    if repeats_earlier(recipients, index) {
        return Err(PayoutError::DuplicateRecipient);
    }
    Ok(())
}

/// Checks every recipient and amount; returns the batch total.
#[inline(never)]
fn validate_recipients(rules: &RecipientRules, recipients: &[AccountView], args: &SplitArgs) -> Result<u64, PayoutError> {
    let mut total = 0u64;
    for index in 0..recipients.len() {
        match check_recipient(rules, recipients, index).and_then(|()| add_amount(total, args.amount(index))) {
            Ok(sum) => total = sum,
            Err(error) => {
                sys::log("stableflow_payouts: rejected recipient at index");
                sys::log_u64(index as u64);
                return Err(error);
            }
        }
    }
    Ok(total)
}

/// The split record address must be the batch's PDA and must not exist yet; returns its bump.
fn check_split_record(
    program_id: &Address,
    treasury: &Address,
    record: &AccountView,
    args: &SplitArgs,
) -> Result<u8, PayoutError> {
    let seeds: [&[u8]; 4] = [SPLIT_SEED, treasury.as_ref(), args.run_id, args.batch_index_le];
    let (address, bump) =
        sys::find_program_address(&seeds, program_id).map_err(|_| PayoutError::InvalidSplitRecord)?;
    if !address_eq(&address, record.address()) {
        return Err(PayoutError::InvalidSplitRecord);
    }
    if !record.is_data_empty() || is_owned_by(record, program_id) {
        return Err(PayoutError::SplitAlreadyExecuted);
    }
    Ok(bump)
}

/// The transfers of one batch: the vault pays each recipient, the treasury PDA signs.
struct Payout<'a> {
    transfer: TransferChecked<'a>,
    recipients: &'a [AccountView],
    signer: &'a [Signer<'a, 'a>],
}

/// One TransferChecked per recipient. The instruction and CPI account arrays are built once;
/// each iteration only swaps in the recipient and the amount (whose LE bytes are copied
/// straight from the instruction data).
#[inline(never)]
fn pay_recipients(payout: &Payout, args: &SplitArgs) {
    let transfer = &payout.transfer;
    let mut data = [0u8; 10];
    data[0] = TransferChecked::DISCRIMINATOR;
    data[9] = transfer.decimals;
    let mut metas = [
        InstructionAccount::writable(transfer.from.address()),
        InstructionAccount::readonly(transfer.mint.address()),
        InstructionAccount::writable(transfer.to.address()),
        InstructionAccount::readonly_signer(transfer.authority.address()),
    ];
    let mut cpi_accounts = [
        CpiAccount::from(transfer.from),
        CpiAccount::from(transfer.mint),
        CpiAccount::from(transfer.to),
        CpiAccount::from(transfer.authority),
    ];
    for (index, recipient) in payout.recipients.iter().enumerate() {
        data[1..9].copy_from_slice(&args.amounts[index]);
        metas[2] = InstructionAccount::writable(recipient.address());
        cpi_accounts[2] = CpiAccount::from(recipient);
        let instruction = InstructionView { program_id: transfer.token_program, data: &data, accounts: &metas };
        // SAFETY: no view of any of these accounts' data is alive during the call (validation
        // used scoped read-only views), so the token program's writes cannot alias a Rust
        // reference. A failed CPI aborts the whole transaction, so there is no result to check.
        unsafe { invoke_signed_unchecked(&instruction, &cpi_accounts, payout.signer) };
    }
}

#[inline(never)]
pub fn process(ix: Invocation) -> ProgramResult {
    let Invocation { program_id, accounts, data } = ix;
    let args = SplitArgs::parse(data)?;
    let [payer, authority, treasury_account, vault, mint, split_record, token_program, system_program, recipients @ ..] =
        accounts
    else {
        return Err(PayoutError::NotEnoughAccounts.into());
    };

    // Checks: signers, treasury and its accounts, counts, the batch record, every recipient,
    // the balance and the plan hash — all before the first transfer.
    if !authority.is_signer() {
        return Err(PayoutError::AuthorityMustSign.into());
    }
    if !payer.is_signer() {
        return Err(PayoutError::PayerMustSign.into());
    }
    let treasury = load_treasury_at_pda(treasury_account, program_id)?;
    if !address_eq(authority.address(), &treasury.authority) {
        return Err(PayoutError::Unauthorized.into());
    }
    if treasury.paused() {
        return Err(PayoutError::TreasuryPaused.into());
    }
    check_treasury_accounts(treasury, vault, mint, token_program)?;
    if !address_eq(system_program.address(), &SYSTEM_PROGRAM_ID) {
        return Err(PayoutError::InvalidSystemProgram.into());
    }
    let recipients: &[AccountView] = recipients;
    check_counts(recipients.len(), args.count())?;
    let record_bump = check_split_record(program_id, treasury_account.address(), split_record, &args)?;
    let rules = RecipientRules { vault: &treasury.vault, mint: &treasury.mint, token_program: &treasury.token_program };
    let total = validate_recipients(&rules, recipients, &args)?;
    if vault_balance(vault)? < total {
        return Err(PayoutError::InsufficientVaultBalance.into());
    }
    if plan_hash(recipients.iter().map(AccountView::address), &args) != *args.plan_hash {
        return Err(PayoutError::PlanHashMismatch.into());
    }
    let decimals = mint_decimals(mint)?;

    // Effects: event, transfers, the batch record, the treasury totals. The event is logged
    // first because every token CPI adds log lines and runtimes truncate a transaction's log at
    // 10 KB: logged last, it would be cut from a full batch. The transaction is atomic, so a
    // failed transfer discards the event with everything else.
    let clock = sys::clock()?;
    let recipient_count = recipients.len() as u16;
    let treasury_address = treasury_account.address().clone();
    SplitExecuted {
        treasury: treasury_address.clone(),
        run_id: *args.run_id,
        batch_index: args.batch_index(),
        recipient_count,
        total,
        plan_hash: *args.plan_hash,
        slot: clock.slot,
    }
    .emit();

    let treasury_bump = [treasury.bump];
    let treasury_seeds = [
        Seed::from(TREASURY_SEED),
        Seed::from(treasury.mint.as_ref()),
        Seed::from(&treasury.org_id),
        Seed::from(&treasury_bump),
    ];
    let signer = [Signer::from(&treasury_seeds)];
    let payout = Payout {
        transfer: TransferChecked {
            token_program: token_program.address(),
            from: vault,
            mint,
            to: vault,
            authority: treasury_account,
            decimals,
        },
        recipients,
        signer: &signer,
    };
    pay_recipients(&payout, &args);

    create_split_record(&SplitRecordContext { program_id, payer, treasury: &treasury_address, record: split_record, args: &args }, record_bump)?;
    let init = SplitRecordInit {
        treasury: &treasury_address,
        run_id: args.run_id,
        batch_index: args.batch_index(),
        recipient_count,
        total,
        plan_hash: args.plan_hash,
        slot: clock.slot,
        unix_timestamp: clock.unix_timestamp,
        executor: authority.address(),
        bump: record_bump,
    };
    // SAFETY: the record was just created with `SplitRecord::LEN` zeroed bytes; no other view exists.
    SplitRecord::write(unsafe { split_record.borrow_unchecked_mut() }, &init)?;

    load_treasury_mut(treasury_account, program_id)?.record_split(total)?;
    Ok(())
}

struct SplitRecordContext<'a> {
    program_id: &'a Address,
    payer: &'a AccountView,
    treasury: &'a Address,
    record: &'a AccountView,
    args: &'a SplitArgs<'a>,
}

#[inline(never)]
fn create_split_record(ctx: &SplitRecordContext, bump: u8) -> ProgramResult {
    let bump_seed = [bump];
    let seeds = [
        Seed::from(SPLIT_SEED),
        Seed::from(ctx.treasury.as_ref()),
        Seed::from(ctx.args.run_id),
        Seed::from(ctx.args.batch_index_le),
        Seed::from(&bump_seed),
    ];
    CreatePda {
        payer: ctx.payer,
        account: ctx.record,
        owner: ctx.program_id,
        space: SplitRecord::LEN as u64,
        lamports: sys::rent_exempt_minimum(SplitRecord::LEN)?,
    }
    .invoke_signed(&[Signer::from(&seeds)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::vec::Vec;

    fn encode(run_id: [u8; 16], batch_index: u16, plan_hash: [u8; 32], amounts: &[u64]) -> Vec<u8> {
        let mut data = Vec::new();
        data.extend_from_slice(&run_id);
        data.extend_from_slice(&batch_index.to_le_bytes());
        data.extend_from_slice(&plan_hash);
        data.extend_from_slice(&(amounts.len() as u32).to_le_bytes());
        for amount in amounts {
            data.extend_from_slice(&amount.to_le_bytes());
        }
        data
    }

    #[test]
    fn parses_the_borsh_arguments() {
        // Given borsh-encoded arguments, When parsed, Then every field is read in place.
        let data = encode([1; 16], 0x0203, [4; 32], &[10, 20, 30]);
        let args = SplitArgs::parse(&data).unwrap();
        assert_eq!(*args.run_id, [1; 16]);
        assert_eq!(args.batch_index(), 0x0203);
        assert_eq!(*args.batch_index_le, [0x03, 0x02]);
        assert_eq!(*args.plan_hash, [4; 32]);
        assert_eq!((args.count(), args.amount(0), args.amount(2)), (3, 10, 30));
    }

    #[test]
    fn parses_an_empty_amount_list() {
        let data = encode([1; 16], 0, [4; 32], &[]);
        assert_eq!(SplitArgs::parse(&data).unwrap().count(), 0);
    }

    #[test]
    fn error_truncated_data() {
        let data = encode([1; 16], 0, [4; 32], &[10, 20]);
        for cut in [0, 10, 17, 49, 53, data.len() - 1, data.len() - 8] {
            assert_eq!(SplitArgs::parse(&data[..cut]).unwrap_err(), PayoutError::InvalidInstructionData, "cut {cut}");
        }
    }

    #[test]
    fn error_trailing_bytes_or_wrong_count() {
        let mut data = encode([1; 16], 0, [4; 32], &[10, 20]);
        data.push(0);
        assert_eq!(SplitArgs::parse(&data).unwrap_err(), PayoutError::InvalidInstructionData);
        let mut data = encode([1; 16], 0, [4; 32], &[10, 20]);
        data.extend_from_slice(&30u64.to_le_bytes());
        assert_eq!(SplitArgs::parse(&data).unwrap_err(), PayoutError::InvalidInstructionData);
        // A huge count cannot overflow the length arithmetic.
        let mut data = encode([1; 16], 0, [4; 32], &[]);
        data[50..54].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(SplitArgs::parse(&data).unwrap_err(), PayoutError::InvalidInstructionData);
    }

    #[test]
    fn counts_bound_the_batch() {
        assert_eq!(check_counts(1, 1), Ok(()));
        assert_eq!(check_counts(MAX_RECIPIENTS, MAX_RECIPIENTS), Ok(()));
        assert_eq!(check_counts(0, 0), Err(PayoutError::NoRecipients));
        assert_eq!(check_counts(MAX_RECIPIENTS + 1, MAX_RECIPIENTS + 1), Err(PayoutError::TooManyRecipients));
        assert_eq!(check_counts(3, 2), Err(PayoutError::AmountsCountMismatch));
        assert_eq!(check_counts(2, 3), Err(PayoutError::AmountsCountMismatch));
    }

    #[test]
    fn error_zero_amount_and_overflow() {
        assert_eq!(add_amount(5, 7), Ok(12));
        assert_eq!(add_amount(5, 0), Err(PayoutError::ZeroAmount));
        assert_eq!(add_amount(u64::MAX - 1, 1), Ok(u64::MAX));
        assert_eq!(add_amount(u64::MAX, 1), Err(PayoutError::AmountOverflow));
    }

    #[test]
    fn error_duplicate_recipient() {
        // Given runtime accounts laid out in order, as the loader serializes them,
        let mut slots: [pinocchio::account::RuntimeAccount; 3] = Default::default();
        let base = slots.as_mut_ptr();
        // SAFETY: the pointers address live elements of `slots`, which outlives the views.
        let view = |i: usize| unsafe { AccountView::new_unchecked(base.add(i)) };
        // When every recipient is a distinct slot, Then none repeats;
        let distinct = [view(0), view(1), view(2)];
        assert!((0..3).all(|i| !repeats_earlier(&distinct, i)));
        // When a later recipient refers back to an earlier slot, Then it is a repeat.
        let repeated = [view(0), view(1), view(0)];
        assert!(repeats_earlier(&repeated, 2));
        let adjacent = [view(1), view(1)];
        assert!(repeats_earlier(&adjacent, 1));
    }

    #[test]
    fn plan_hash_is_sha256_of_recipient_and_amount_pairs() {
        // Given recipients and amounts, When hashed in one pass over borrowed pieces,
        let keys: Vec<Address> = (1..=3u8).map(|i| Address::new_from_array([i; 32])).collect();
        let data = encode([0; 16], 0, [0; 32], &[100, 200, 300]);
        let args = SplitArgs::parse(&data).unwrap();
        let hash = plan_hash(keys.iter(), &args);
        // Then it equals sha256 of the concatenated (key || amount LE) pairs.
        let mut expected = Sha256::new();
        for (key, amount) in keys.iter().zip([100u64, 200, 300]) {
            expected.update(key.as_ref());
            expected.update(amount.to_le_bytes());
        }
        assert_eq!(hash[..], expected.finalize()[..]);
        // And changing any amount or the order changes the hash.
        let swapped: Vec<Address> = [keys[1].clone(), keys[0].clone(), keys[2].clone()].into();
        assert_ne!(plan_hash(swapped.iter(), &args), hash);
        let data = encode([0; 16], 0, [0; 32], &[100, 201, 300]);
        assert_ne!(plan_hash(keys.iter(), &SplitArgs::parse(&data).unwrap()), hash);
    }

    #[test]
    fn max_recipients_fits_the_account_lock_limit() {
        // 64 locks - 8 named accounts - this program - compute budget program.
        assert!(MAX_RECIPIENTS >= 45 && MAX_RECIPIENTS + ACCOUNTS.len() + 2 <= 64);
    }
}
