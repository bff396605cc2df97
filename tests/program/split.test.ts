// execute_split on bankrun and LiteSVM: one recipient, a multi-batch run, the legacy-transaction
// maximum, the v0 + address-lookup-table maximum, and conservation over random plans.
import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { captureBeforeSplit, expectSplitApplied } from "./harness/assertions.js";
import { findMaxRecipients, lookupTableAddresses } from "./harness/capacity.js";
import type { PayoutsClient } from "./harness/client.js";
import {
  RUNTIME_KINDS,
  distinctAmounts,
  newRecipients,
  planSplit,
  sendSplit,
  setupTreasury,
  startRuntime,
  type TreasuryWorld,
} from "./harness/world.js";

vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

/** The interface promises a v0 + lookup table split of at least this many recipients. */
const REQUIRED_V0_ALT_RECIPIENTS = 45;
/** And a plain legacy transaction of at least this many. */
const REQUIRED_LEGACY_RECIPIENTS = 16;

describe.each(RUNTIME_KINDS)("execute_split on %s", (kind) => {
  let client: PayoutsClient;
  let world: TreasuryWorld;

  beforeAll(async () => {
    client = await startRuntime(kind);
    world = await setupTreasury(client, { deposit: 50_000_000_000n });
  });

  it("splits to one recipient", async () => {
    // Given: a funded vault and one recipient token account
    const [recipient] = await newRecipients(world, 1);
    const plan = planSplit(world, [recipient!], [123_456_789n]);
    const before = await captureBeforeSplit(world, plan);
    // When: the authority executes the split
    const outcome = await sendSplit(world, plan);
    // Then: exactly that amount moved, and the record, totals and event say so
    await expectSplitApplied(world, plan, before, outcome, world.authority.publicKey);
  });

  it("settles two batches of one run independently, each with its own record", async () => {
    // Given: one run split into batch 0 and batch 1 with different recipients
    const recipients = await newRecipients(world, 5);
    const first = planSplit(world, recipients.slice(0, 3), distinctAmounts(3, 5_000n), 0);
    const second = planSplit(world, recipients.slice(3), distinctAmounts(2, 9_000n), 1, first.runId);
    // When / Then: each batch executes and writes its own SplitRecord
    const beforeFirst = await captureBeforeSplit(world, first);
    await expectSplitApplied(world, first, beforeFirst, await sendSplit(world, first), world.authority.publicKey);
    const beforeSecond = await captureBeforeSplit(world, second);
    await expectSplitApplied(world, second, beforeSecond, await sendSplit(world, second), world.authority.publicKey);
    expect(first.splitRecord.equals(second.splitRecord)).toBe(false);
  });

  it("splits to the legacy-transaction maximum, and one more recipient does not fit", async () => {
    // Given: more recipients than a legacy transaction can carry
    const pool = await newRecipients(world, 32);
    // When: the largest legacy execute_split that fits 1232 bytes is found by executing it
    const result = await findMaxRecipients(world, "legacy", pool);
    // Then: it really executed with every effect, within the packet limit
    expect(result.outcome.size).toBeLessThanOrEqual(1232);
    await expectSplitApplied(world, result.plan, result.before, result.outcome, world.authority.publicKey);
    expect(result.max).toBe(result.plan.recipients.length);
    expect(result.max, result.refusalAboveMax).toBeGreaterThanOrEqual(REQUIRED_LEGACY_RECIPIENTS);
    expect(result.max).toBeLessThan(pool.length);
  });

  it("splits to the v0 + lookup-table maximum, and one more recipient is refused", async () => {
    // Given: a lookup table holding the fixed accounts and a large pool of recipients
    const pool = await newRecipients(world, 100);
    const table = await client.createLookupTable(lookupTableAddresses(world, pool));
    // When: the largest v0 execute_split that fits and executes is found
    const result = await findMaxRecipients(world, "v0_alt", pool, table);
    // Then: it executed with every effect and fits the packet; the next size up failed for a stated reason
    expect(result.outcome.size).toBeLessThanOrEqual(1232);
    await expectSplitApplied(world, result.plan, result.before, result.outcome, world.authority.publicKey);
    expect(result.max, result.refusalAboveMax).toBeGreaterThanOrEqual(REQUIRED_V0_ALT_RECIPIENTS);
    expect(result.refusalAboveMax).not.toBe("");
  });

  it("conserves tokens for any plan: the vault falls by exactly what recipients gain", async () => {
    const recipients = await newRecipients(world, 6);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: recipients.length }),
        fc.array(fc.bigInt({ min: 1n, max: 5_000_000n }), { minLength: recipients.length, maxLength: recipients.length }),
        async (count, allAmounts) => {
          // Given: a random subset size and random positive amounts
          const plan = planSplit(world, recipients.slice(0, count), allAmounts.slice(0, count));
          const before = await captureBeforeSplit(world, plan);
          const treasuryBefore = before.treasury;
          // When
          const outcome = await sendSplit(world, plan);
          // Then: every before/after pair matches the plan
          await expectSplitApplied(world, plan, before, outcome, world.authority.publicKey);
          const treasuryAfter = await client.fetchTreasury(world.treasury);
          expect(treasuryAfter.totalSettled - treasuryBefore.totalSettled).toBe(
            plan.amounts.reduce((a, b) => a + b, 0n),
          );
        },
      ),
      { numRuns: 12 },
    );
  });
});
