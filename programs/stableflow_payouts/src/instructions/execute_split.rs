//! `execute_split(run_id, batch_index, plan_hash, amounts)`: pays one batch of a payout run
//! from the vault. Everything is validated before the first transfer; the SplitRecord PDA
//! makes a batch executable once. A recipient that cannot receive fails the batch with
//! `6100 + its position` and a `RecipientRefused` event, so the executor can hold it out.

use crate::abi::{AccountSpec, FieldSpec, FieldType, InstructionSpec};
use crate::cpi::{CreatePda, TransferChecked};
use crate::discriminator;
use crate::error::{recipient_refused, PayoutError};
use crate::events::{RecipientRefused, SplitExecuted};
use crate::instructions::Invocation;
use crate::instructions::{
    check_treasury_accounts, is_owned_by, load_treasury_at_pda, load_treasury_mut, mint_decimals, vault_balance,
};
use crate::plan::{plan_hash, Plan};
use crate::state::seeds;
use crate::state::split_record::{SplitRecord, SplitRecordInit};
use crate::state::token::{check_token_account, SYSTEM_PROGRAM_ID};
use crate::sys;
use pinocchio::address::address_eq;
use pinocchio::cpi::{invoke_signed_unchecked, CpiAccount, Seed, Signer};
use pinocchio::error::ProgramError;
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
///   8.. `[writable]` recipient token accounts, one per amount, in the same order; the
///      recipient at position p (0-based, the (8 + p)-th account) is refused with 6100 + p
///
/// Data: discriminator (8) · run_id `[u8; 16]` · batch_index `u16` · plan_hash `[u8; 32]` ·
/// amounts `Vec<u64>` (u32 count, then count × u64 LE).
/// plan_hash: see `crate::plan` (`PLAN_HASH_DOC` is the same text in the IDL).
pub const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec::new("payer", true, true, "Pays the SplitRecord rent; may be the authority"),
    AccountSpec::new("authority", false, true, "The treasury authority"),
    AccountSpec::new("treasury", true, false, "Treasury paying the batch"),
    AccountSpec::new("vault", true, false, "The treasury's vault"),
    AccountSpec::new("mint", false, false, "The treasury's mint"),
    AccountSpec::new("split_record", true, false, "SplitRecord PDA for this batch, created here")
        .with_pda(seeds::SPLIT_RECORD_PDA),
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
    docs: PLAN_HASH_DOC,
    discriminator: DISCRIMINATOR,
    accounts: ACCOUNTS,
    args: ARGS,
};

/// The instruction's IDL docs: what it does, how a refused recipient is reported, and the plan
/// hash byte layout (defined in `crate::plan`).
pub const PLAN_HASH_DOC: &str = "Pay one batch: recipient token accounts are the remaining accounts, in the order of amounts. \
Every check runs before the first transfer. A recipient that cannot receive (not an initialized token account of the treasury's token program, \
missing or closed, another mint, frozen, requiring incoming memos, or carrying a Token-2022 extension a split does not pay into) fails the \
instruction with custom error 6100 + position (position = index among the recipient accounts), after a RecipientRefused event for \
every such recipient. plan_hash = sha256(\"stableflow:split-plan:v1\" (24 bytes) || program_id (32) || treasury (32) || run_id (16) || \
batch_index (u16 LE) || for each recipient in order: recipient token account (32) || amount (u64 LE)).";

/// Instruction data after the discriminator, borrowed from the input buffer.
#[derive(Debug)]
pub struct SplitArgs<'a> {
    pub run_id: &'a [u8; 16],
    /// `batch_index` as its two little-endian bytes (a PDA seed as is).
    pub batch_index_le: &'a [u8; 2],
    pub plan_hash: &'a [u8; 32],
    /// Each amount as its eight little-endian bytes, as hashed and as sent to the token program.
    pub amounts: &'a [[u8; 8]],
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

/// What every recipient is checked against.
struct RecipientRules<'a> {
    vault: &'a Address,
    mint: &'a Address,
    token_program: &'a Address,
}

/// Whether a transfer into `recipient` can go through; the error is the reason it cannot.
#[inline(always)]
fn receivable(rules: &RecipientRules, recipient: &AccountView) -> Result<(), PayoutError> {
    if !is_owned_by(recipient, rules.token_program) {
        // A system account with no lamports is one that was never created or was closed.
        return Err(if recipient.lamports() == 0 { PayoutError::RecipientMissing } else { PayoutError::RecipientNotTokenAccount });
    }
    // SAFETY: read-only view, dropped before any CPI.
    check_token_account(unsafe { recipient.borrow_unchecked() }, rules.mint)
}

/// A batch the executor built wrong (the vault as a recipient, a repeat, a zero amount, an
/// overflowing sum): the whole plan is refused with the error's own code.
#[cold]
#[inline(never)]
fn plan_error(index: usize, error: PayoutError) -> ProgramError {
    sys::log("stableflow_payouts: rejected recipient at index");
    sys::log_u64(index as u64);
    error.into()
}

/// A recipient that cannot receive: logged as a `RecipientRefused` event (position and reason).
#[cold]
#[inline(never)]
fn log_refusal(recipient: &AccountView, index: usize, reason: PayoutError) {
    sys::log("stableflow_payouts: recipient cannot receive at index");
    sys::log_u64(index as u64);
    RecipientRefused { recipient: recipient.address().clone(), position: index as u16, reason: reason as u32 }.emit();
}

/// Checks every recipient and amount; returns the batch total.
///
/// A plan error stops at once. A recipient that cannot receive is logged and the walk goes on,
/// so one simulation names every such recipient; the instruction then fails with
/// `6100 + position` of the first.
#[inline(never)]
fn validate_recipients(rules: &RecipientRules, recipients: &[AccountView], args: &SplitArgs) -> Result<u64, ProgramError> {
    let mut total = 0u64;
    let mut first_refused: Option<usize> = None;
    for (index, recipient) in recipients.iter().enumerate() {
        if address_eq(recipient.address(), rules.vault) {
            return Err(plan_error(index, PayoutError::RecipientIsVault));
        }
        if let Err(reason) = receivable(rules, recipient) {
            log_refusal(recipient, index, reason);
            first_refused = first_refused.or(Some(index));
        }
        if repeats_earlier(recipients, index) {
            return Err(plan_error(index, PayoutError::DuplicateRecipient));
        }
        total = add_amount(total, args.amount(index)).map_err(|error| plan_error(index, error))?;
    }
    match first_refused {
        None => Ok(total),
        Some(index) => Err(recipient_refused(index)),
    }
}

/// The split record address must be the batch's PDA and must not exist yet; returns its bump.
fn check_split_record(
    program_id: &Address,
    treasury: &Address,
    record: &AccountView,
    args: &SplitArgs,
) -> Result<u8, PayoutError> {
    let seeds = seeds::split_record(treasury.as_ref(), args.run_id, args.batch_index_le, &[0]);
    let (address, bump) =
        sys::find_program_address(&seeds[..4], program_id).map_err(|_| PayoutError::InvalidSplitRecord)?;
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
    let plan = Plan {
        program_id,
        treasury: treasury_account.address(),
        run_id: args.run_id,
        batch_index_le: args.batch_index_le,
        amounts_le: args.amounts,
    };
    if plan_hash(&plan, recipients.iter().map(AccountView::address)) != *args.plan_hash {
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
    let treasury_seeds = treasury.signer_seeds(&treasury_bump);
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
    let seeds = seeds::split_record(ctx.treasury.as_ref(), ctx.args.run_id, ctx.args.batch_index_le, &bump_seed).map(Seed::from);
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
    fn max_recipients_fits_the_account_lock_limit() {
        // 64 locks - 8 named accounts - this program - compute budget program.
        assert!(MAX_RECIPIENTS >= 45 && MAX_RECIPIENTS + ACCOUNTS.len() + 2 <= 64);
    }
}
