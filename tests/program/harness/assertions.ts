// Shared assertions: a split moved exactly what its plan says (before/after pairs), and a refused
// instruction failed with its own error code and left every balance as it was.
import { expect } from "vitest";
import type { PublicKey } from "@solana/web3.js";
import { RECIPIENT_REFUSED_BASE } from "../../../app/settlement/program.js";
import { recipientRefusalFromError, recipientRefusalsFromLogs, splitExecutedEvents } from "../../../app/settlement/program-logs.js";
import type { PayoutsClient, ProgramEvent, SentTransaction } from "./client.js";
import { snapshot, type SplitBefore, type SplitPlan, type StateSnapshot, type TreasuryWorld } from "./world.js";

export { captureBeforeSplit, type SplitBefore } from "./world.js";

function sameName(event: ProgramEvent, name: string): boolean {
  return event.name === name;
}

/** The one event of this name in the logs, with its fields as the IDL names them (u64 as bigint). */
export function findEvent(world: TreasuryWorld, logs: string[], name: string): Record<string, unknown> {
  const events = world.client.events(logs);
  const matching = events.filter((e) => sameName(e, name));
  expect(matching, `exactly one ${name} event in the logs`).toHaveLength(1);
  return matching[0]!.data;
}

/** Asserts every effect of a successful execute_split against the state captured before it. */
export async function expectSplitApplied(
  world: TreasuryWorld,
  plan: SplitPlan,
  before: SplitBefore,
  outcome: SentTransaction,
  executor: PublicKey,
): Promise<void> {
  const { client } = world;
  expect(outcome.error?.message ?? null, outcome.logs.join("\n")).toBeNull();
  expect(outcome.ok).toBe(true);
  const total = plan.amounts.reduce((a, b) => a + b, 0n);

  // Then: each recipient rose by exactly its amount; the vault fell by exactly the sum.
  const recipientsAfter = await client.tokenBalances(plan.recipients);
  recipientsAfter.forEach((after, i) => {
    expect(after - before.recipientBalances[i]!, `recipient ${i}`).toBe(plan.amounts[i]);
  });
  const vaultAfter = await client.tokenBalance(world.vault);
  expect(before.vaultBalance - vaultAfter).toBe(total);
  // Conservation: what left the vault is what the recipients gained, nothing more, nothing less.
  const gained = recipientsAfter.reduce((sum, after, i) => sum + (after - before.recipientBalances[i]!), 0n);
  expect(gained).toBe(before.vaultBalance - vaultAfter);

  // Then: the SplitRecord decodes through the IDL with the run, batch, count, total and plan hash.
  const record = await client.fetchSplitRecord(plan.splitRecord);
  expect(record, "SplitRecord account exists").not.toBeNull();
  expect(record!.treasury.equals(world.treasury)).toBe(true);
  expect(Buffer.from(record!.runId).equals(plan.runId)).toBe(true);
  expect(record!.batchIndex).toBe(plan.batchIndex);
  expect(record!.recipientCount).toBe(plan.recipients.length);
  expect(record!.total).toBe(total);
  expect(Buffer.from(record!.planHash).equals(plan.planHash)).toBe(true);
  expect(record!.executor.toBase58()).toBe(executor.toBase58());
  expect(record!.slot).toBe(await client.runtime.slot());
  expect(record!.unixTimestamp).toBe(await client.runtime.unixTimestamp());

  // Then: the treasury totals moved by this split and nothing else changed in it.
  const treasuryAfter = await client.fetchTreasury(world.treasury);
  expect(treasuryAfter.totalSettled - before.treasury.totalSettled).toBe(total);
  expect(treasuryAfter.splitsExecuted - before.treasury.splitsExecuted).toBe(1n);
  expect(treasuryAfter.authority.equals(before.treasury.authority)).toBe(true);
  expect(treasuryAfter.paused).toBe(before.treasury.paused);

  // Then: the SplitExecuted event decodes from the logs and agrees with the record.
  const events = splitExecutedEvents(outcome.logs);
  expect(events, "exactly one SplitExecuted event in the logs").toHaveLength(1);
  const event = events[0]!;
  expect(event.treasury.equals(world.treasury)).toBe(true);
  expect(Buffer.from(event.runId).equals(plan.runId)).toBe(true);
  expect(event.batchIndex).toBe(plan.batchIndex);
  expect(event.recipientCount).toBe(plan.recipients.length);
  expect(event.total).toBe(total);
  expect(Buffer.from(event.planHash).equals(plan.planHash)).toBe(true);
  expect(event.slot).toBe(record!.slot);
}

/** The transaction failed in the program's instruction with the IDL's code for `errorName`. */
export function expectProgramError(client: PayoutsClient, outcome: SentTransaction, errorName: string): void {
  const code = client.errorCode(errorName);
  expect(outcome.ok, `expected ${errorName} (${code}) but the transaction succeeded`).toBe(false);
  expect(
    { instruction: outcome.error?.instructionIndex, code: outcome.error?.customCode },
    `${errorName}: ${outcome.error?.message}\n${outcome.logs.join("\n")}`,
  ).toEqual({ instruction: outcome.firstInstructionIndex, code });
}

/** No token balance and no treasury byte changed between the two snapshots. */
export function expectUnchanged(before: StateSnapshot, after: StateSnapshot): void {
  expect(Object.fromEntries(after.balances)).toEqual(Object.fromEntries(before.balances));
  expect(after.treasuryData).toBe(before.treasuryData);
}

/** Runs a refused instruction between two snapshots and checks both the code and the untouched state. */
export async function expectRefused(
  world: TreasuryWorld,
  watched: readonly PublicKey[],
  errorName: string,
  attempt: () => Promise<SentTransaction>,
): Promise<SentTransaction> {
  const before = await snapshot(world, watched);
  const outcome = await attempt();
  expectProgramError(world.client, outcome, errorName);
  expectUnchanged(before, await snapshot(world, watched));
  return outcome;
}

/**
 * The transaction failed with 6100 + `position` (the program's code for a recipient that cannot
 * receive), the app's parser reads that position and `reason` back from the outcome, and no
 * balance or treasury byte changed.
 */
export async function expectRecipientRefused(
  world: TreasuryWorld,
  watched: readonly PublicKey[],
  refused: { position: number; reason: string; recipient: PublicKey },
  attempt: () => Promise<SentTransaction>,
): Promise<SentTransaction> {
  const before = await snapshot(world, watched);
  const outcome = await attempt();
  const context = `${outcome.error?.message}\n${outcome.logs.join("\n")}`;
  expect(outcome.ok, `expected recipient ${refused.position} refused, but the transaction succeeded`).toBe(false);
  expect({ instruction: outcome.error?.instructionIndex, code: outcome.error?.customCode }, context).toEqual({
    instruction: outcome.firstInstructionIndex,
    code: RECIPIENT_REFUSED_BASE + refused.position,
  });
  const parsed = recipientRefusalFromError(outcome);
  expect(parsed, context).not.toBeNull();
  expect({ position: parsed!.position, reason: parsed!.reason, recipient: parsed!.recipient?.toBase58() }).toEqual({
    position: refused.position,
    reason: refused.reason,
    recipient: refused.recipient.toBase58(),
  });
  // The bare transaction error alone (what a signature status carries) still names the position.
  const bare = recipientRefusalFromError({ InstructionError: [outcome.error!.instructionIndex, { Custom: outcome.error!.customCode }] });
  expect(bare?.position).toBe(refused.position);
  expect(recipientRefusalsFromLogs(outcome.logs).some((r) => r.position === refused.position)).toBe(true);
  expectUnchanged(before, await snapshot(world, watched));
  return outcome;
}
