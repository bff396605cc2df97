// A recipient's payout proof checked against the chain alone: the verifier passes a real split on every
// check and fails each kind of lie with its own reason; `npm run verify` does the same from a file with
// --rpc, no StableFlow server or database running.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Connection, Keypair, type PublicKey } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePayoutProof, ProofFormatError, verifyPayoutProof, type PayoutProof } from "~/settlement/payout-proof";
import { PROGRAM_ID, splitRecordAddress } from "~/settlement/program";
import { useTestChain } from "../setup/chain";
import { createSplitWorld, type SplitWorld } from "../setup/chain-split";

const chain = useTestChain({ slotMs: 40 });
let world: SplitWorld;
let connection: Connection;
let genesisHash: string;
let workDir: string;
let proofA: PayoutProof;
let signatureB: string;
let recipientsB: PublicKey[];
const runA = Buffer.from("a1a2a3a4a5a6a7a8a9aaabacadaeaf00", "hex");
const runB = Buffer.from("b1b2b3b4b5b6b7b8b9babbbcbdbebf00", "hex");

function proofFor(runId: Buffer, batchIndex: number, transfers: { tokenAccount: PublicKey; amount: bigint }[], signature: string, slot: number, position: number): PayoutProof {
  return parsePayoutProof({
    kind: "stableflow.payout-proof",
    version: 1,
    programId: PROGRAM_ID.toBase58(),
    cluster: { genesisHash, name: "localnet" },
    treasury: world.identity.treasury.toBase58(),
    mint: world.mint.toBase58(),
    decimals: 6,
    splitRecord: splitRecordAddress({ treasury: world.identity.treasury, runId, batchIndex }).toBase58(),
    runId: runId.toString("hex"),
    batchIndex,
    transfers: transfers.map((t) => ({ tokenAccount: t.tokenAccount.toBase58(), amount: t.amount.toString() })),
    position,
    signature,
    slot,
  });
}

const failed = (result: Awaited<ReturnType<typeof verifyPayoutProof>>) => result.checks.filter((c) => !c.ok).map((c) => c.check);

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "sf-proof-"));
  world = await createSplitWorld(chain.current.url, { organizationId: randomUUID() });
  connection = new Connection(chain.current.url, "confirmed");
  genesisHash = await connection.getGenesisHash();
  const recipientsA = await world.newRecipients(3);
  const transfersA = recipientsA.map((tokenAccount, i) => ({ tokenAccount, amount: [400_000n, 250_001n, 9n][i] }));
  const signatureA = await world.split({ runId: runA, batchIndex: 0, transfers: transfersA });
  const slotA = (await connection.getTransaction(signatureA, { commitment: "confirmed", maxSupportedTransactionVersion: 0 }))!.slot;
  proofA = proofFor(runA, 0, transfersA, signatureA, slotA, 1);
  recipientsB = await world.newRecipients(2);
  signatureB = await world.split({ runId: runB, batchIndex: 1, transfers: recipientsB.map((tokenAccount) => ({ tokenAccount, amount: 5n })) });
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe("verifyPayoutProof", () => {
  it("passes every check for a settled payout", async () => {
    const result = await verifyPayoutProof(connection, proofA);
    expect(result.checks.map((c) => [c.check, c.ok])).toEqual([
      ["cluster", true],
      ["record", true],
      ["plan_hash", true],
      ["transaction", true],
    ]);
    expect(result.ok).toBe(true);
    expect(result.checks[3].detail).toContain("rose by exactly 250001");
  });

  it("fails the plan hash for a tampered transfer list: an amount changed, two entries swapped, an entry added", async () => {
    const changed = { ...proofA, transfers: proofA.transfers.map((t, i) => (i === 0 ? { ...t, amount: "400001" } : t)) };
    const swapped = { ...proofA, transfers: [proofA.transfers[1], proofA.transfers[0], proofA.transfers[2]] };
    const added = { ...proofA, transfers: [...proofA.transfers, { tokenAccount: Keypair.generate().publicKey.toBase58(), amount: "1" }] };
    for (const tampered of [changed, swapped, added]) {
      const result = await verifyPayoutProof(connection, tampered);
      expect(result.ok).toBe(false);
      expect(failed(result)).toContain("plan_hash");
      expect(result.checks.find((c) => c.check === "plan_hash")!.detail).toContain("the list was altered");
    }
    // Swapping keeps the count, the total, and (the proof's position now naming the other entry, which
    // was paid its amount) even the transaction check: only the hash can tell.
    expect(failed(await verifyPayoutProof(connection, swapped))).toEqual(["plan_hash"]);
  });

  it("fails the record check for the SplitRecord address of another treasury", async () => {
    const other = splitRecordAddress({ treasury: Keypair.generate().publicKey, runId: runA, batchIndex: 0 }).toBase58();
    const result = await verifyPayoutProof(connection, { ...proofA, splitRecord: other });
    expect(failed(result)).toContain("record");
    expect(result.checks.find((c) => c.check === "record")!.detail).toContain("is not the SplitRecord of this treasury, run and batch");
  });

  it("fails the cluster check on a different genesis hash", async () => {
    const result = await verifyPayoutProof(connection, { ...proofA, cluster: { genesisHash: "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG" } });
    expect(failed(result)).toEqual(["cluster"]);
    expect(result.checks[0].detail).toContain("wrong cluster");
  });

  it("fails the transaction check for a transaction that did not pay this account", async () => {
    const result = await verifyPayoutProof(connection, { ...proofA, signature: signatureB });
    expect(failed(result)).toEqual(["transaction"]);
    expect(result.checks[3].detail).toContain(`did not execute batch 0 of run ${runA.toString("hex")}`);
  });

  it("refuses a document that is not a proof, naming the field", () => {
    expect(() => parsePayoutProof({ ...proofA, runId: "xyz" })).toThrow(ProofFormatError);
    expect(() => parsePayoutProof({ ...proofA, position: 3 })).toThrow(/outside the 3 transfers/);
    expect(() => parsePayoutProof({ ...proofA, transfers: [{ tokenAccount: proofA.transfers[0].tokenAccount, amount: "-1" }] })).toThrow(/transfers\.0\.amount/);
  });
});

describe("npm run verify", () => {
  function runVerify(file: string) {
    return spawnSync(process.execPath, ["node_modules/tsx/dist/cli.mjs", "scripts/verify.ts", file, "--rpc", chain.current.url], { encoding: "utf8", timeout: 120_000 });
  }

  it("prints PASS for each check of a good proof and exits 0, FAIL and exit 1 for a tampered one", async () => {
    const good = path.join(workDir, "good.json");
    await writeFile(good, JSON.stringify(proofA));
    const ok = runVerify(good);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.match(/^PASS /gm)).toHaveLength(4);
    expect(ok.stdout).toContain("verified: every check passed");

    const bad = path.join(workDir, "bad.json");
    await writeFile(bad, JSON.stringify({ ...proofA, transfers: proofA.transfers.map((t, i) => (i === 2 ? { ...t, amount: "10" } : t)) }));
    const refused = runVerify(bad);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(/^FAIL  plan_hash/m);
    expect(refused.stdout).toContain("NOT verified");

    const garbage = path.join(workDir, "garbage.json");
    await writeFile(garbage, "{}");
    expect(runVerify(garbage).status).toBe(2);
  });
});
