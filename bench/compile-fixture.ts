// Deterministic payout scenarios for the compiler benchmark: a realistic mix of rules and recipient
// states at any size, generated from a seed so every run measures the same input.
import type { PayoutRuleSpec, PolicyVersion, RecipientState } from "../app/ledger/policy";
import type { CompileInput } from "../app/ledger/policy-compiler";

/** mulberry32: a tiny seeded PRNG; quality is plenty for picking fixture shapes. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Strings built by concatenation are rope (cons) strings in V8, read through pointers; strings that
 * come off a database connection are decoded from a buffer into one flat piece. Decode ours the same
 * way, so the benchmark does not measure a fixture artifact.
 */
function flat(text: string): string {
  return Buffer.from(text, "latin1").toString("latin1");
}

function uuidLike(random: () => number): string {
  let hex = "";
  for (let i = 0; i < 32; i++) hex += Math.floor(random() * 16).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface Scenario {
  input: CompileInput;
  /** The amounts the baseline loop sums: one per recipient, like the compiler's per-recipient work. */
  amounts: bigint[];
}

/**
 * A policy for `size` recipients: half percentage rules (at most 9,000, as basis points are whole
 * numbers summing to at most 10,000) with uneven basis points, the rest fixed amounts over three
 * priorities; 20 % with a payout threshold, 10 % capped per payment, 10 % capped per period (half used),
 * 5 % paused, 10 % unverified under a policy that requires verification, a quarter with an accrued
 * balance, 5 % owing a clawback. The distributable is $1,234,567.89 in a 6-decimal token.
 *
 * `order`: "database" supplies rules and recipients in recipient id order, as the model layer reads
 * them (ORDER BY recipient_id); "shuffled" supplies them in random order.
 */
export function compileScenario(size: number, order: "database" | "shuffled" = "database", seed = 20261125): Scenario {
  const random = prng(seed ^ size);
  const generated: string[] = [];
  for (let i = 0; i < size; i++) generated.push(uuidLike(random));
  generated.sort();
  // Decoded after sorting, as rows arrive: each id's bytes lie next to its neighbour's in memory.
  const ids = generated.map(flat);
  if (order === "shuffled") {
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
  }
  const percentageCount = Math.min(Math.ceil(size / 2), 9_000);
  const bpsBudget = 9_700;
  const baseBps = Math.max(1, Math.floor((bpsBudget * 0.8) / percentageCount));
  let bpsLeft = bpsBudget;
  // Which positions get percentage rules: spread evenly, so both kinds interleave in id order.
  const stride = size / percentageCount;
  let nextPercentage = 0;

  const rules: PayoutRuleSpec[] = [];
  const recipients = new Map<string, RecipientState>();
  const periodToDate = new Map<string, bigint>();
  const amounts: bigint[] = [];
  for (let i = 0; i < size; i++) {
    const recipientId = ids[i]!;
    const ruleId = flat(`rule-${recipientId}`);
    const roll = random();
    const rule: PayoutRuleSpec = { id: ruleId, recipientId, kind: "FIXED" };
    if (i >= Math.floor(nextPercentage) && nextPercentage < size && bpsLeft > 0) {
      nextPercentage += stride;
      const bps = Math.min(bpsLeft, baseBps + (random() < 0.3 ? Math.floor(random() * 3) : 0));
      bpsLeft -= bps;
      rule.kind = "PERCENTAGE";
      rule.basisPoints = bps;
    } else {
      rule.fixedAmount = BigInt(250_000 + Math.floor(random() * 2_000_000)); // $0.25 .. $2.25
      rule.priority = Math.floor(random() * 3);
    }
    if (roll < 0.2) rule.minPayout = 5_000_000n; // $5
    if (roll >= 0.2 && roll < 0.3) rule.capPerPayment = 1_000_000n;
    if (roll >= 0.3 && roll < 0.4) {
      rule.capPerPeriod = 50_000_000n;
      periodToDate.set(ruleId, 25_000_000n);
    }
    rules.push(rule);
    const balance = random() < 0.25 ? BigInt(Math.floor(random() * 8_000_000)) : 0n;
    const clawbackOwed = random() < 0.05 ? BigInt(Math.floor(random() * 3_000_000)) : 0n;
    recipients.set(recipientId, {
      id: recipientId,
      status: random() < 0.05 ? "PAUSED" : "ACTIVE",
      walletVerified: random() >= 0.1,
      balance,
      clawbackOwed,
    });
    amounts.push(balance + (rule.fixedAmount ?? 0n));
  }
  const policy: PolicyVersion = { id: "bench-policy", version: 1, requireVerifiedRecipients: true, rules };
  return { input: { distributable: 1_234_567_890_000n, policy, recipients, periodToDate }, amounts };
}
