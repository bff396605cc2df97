// What the public verification page may read about an address (PGlite, and PostgreSQL when DATABASE_URL is
// set): every confirmed batch that paid it, by wallet or token account, with the batch's whole transfer list
// in instruction order; nothing of batches not confirmed, of organizations that never paid it, or of
// recipients beyond their token accounts and amounts.
import { randomUUID } from "node:crypto";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "~/generated/prisma/client";
import { findSettledPayout, findSettledPayouts, runIdBytes } from "~/models/payout-verification.server";
import { createRecipient } from "~/models/recipients.server";
import { databaseTargets, type TestDatabase } from "../setup/databases";
import { recordBatchRows, type RecordedBatch } from "../setup/settled-payout";

const MINT = Keypair.generate().publicKey.toBase58();

describe.each(databaseTargets())("settled payouts of an address on $name", (target) => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  const wallet = Keypair.generate().publicKey.toBase58();
  let walletTokenAccount = "";
  let acmeOther = { id: "", tokenAccount: "" };
  let acmeThird = { id: "", tokenAccount: "" };
  let acmeBatch: RecordedBatch;
  let globexBatch: RecordedBatch;
  let unconfirmed: RecordedBatch;
  let initechBatch: RecordedBatch;

  async function organization(name: string) {
    return prisma.organization.create({ data: { slug: `org-${randomUUID().slice(0, 8)}`, name } });
  }
  async function recipient(organizationId: string, name: string, walletAddress = Keypair.generate().publicKey.toBase58()) {
    const row = await createRecipient(prisma, { organizationId, name, walletAddress, mint: MINT });
    return { id: row.id, tokenAccount: row.tokenAccount };
  }

  beforeAll(async () => {
    db = await target.create();
    prisma = db.prisma;
    const acme = await organization("Acme Studio");
    const globex = await organization("Globex Payouts");
    const initech = await organization("Initech Never Paid You");
    // The same wallet is a recipient of two organizations (same mint: the same associated token account).
    const mineAtAcme = await recipient(acme.id, "PII Private Person", wallet);
    const mineAtGlobex = await recipient(globex.id, "PII Private Person", wallet);
    walletTokenAccount = mineAtAcme.tokenAccount;
    expect(mineAtGlobex.tokenAccount).toBe(walletTokenAccount);
    acmeOther = await recipient(acme.id, "PII Other Contractor");
    acmeThird = await recipient(acme.id, "PII Third Vendor");
    const initechOnly = await recipient(initech.id, "PII Initech Recipient");

    // Acme pays three in one batch, the wallet second: the list's order is the instruction order.
    acmeBatch = await recordBatchRows(prisma, {
      organizationId: acme.id,
      batchIndex: 2,
      transfers: [
        { recipientId: acmeThird.id, tokenAccount: acmeThird.tokenAccount, amount: 70_000n },
        { recipientId: mineAtAcme.id, tokenAccount: walletTokenAccount, amount: 1_234_567n },
        { recipientId: acmeOther.id, tokenAccount: acmeOther.tokenAccount, amount: 5n },
      ],
    });
    globexBatch = await recordBatchRows(prisma, {
      organizationId: globex.id,
      transfers: [{ recipientId: mineAtGlobex.id, tokenAccount: walletTokenAccount, amount: 42n }],
    });
    // Sent but never confirmed: not a settled payout.
    unconfirmed = await recordBatchRows(prisma, {
      organizationId: acme.id,
      transfers: [{ recipientId: mineAtAcme.id, tokenAccount: walletTokenAccount, amount: 999n }],
      confirmed: false,
    });
    // Another organization pays someone else entirely.
    initechBatch = await recordBatchRows(prisma, {
      organizationId: initech.id,
      transfers: [{ recipientId: initechOnly.id, tokenAccount: initechOnly.tokenAccount, amount: 777n }],
    });
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it("finds every confirmed payout to a wallet, through each organization's recipient, with the batch's full list in order", async () => {
    const found = await findSettledPayouts(prisma, wallet, { take: 10 });
    expect(found.total).toBe(2);
    const byOrg = Object.fromEntries(found.payouts.map((p) => [p.organizationName, p]));
    expect(Object.keys(byOrg).sort()).toEqual(["Acme Studio", "Globex Payouts"]);

    const acme = byOrg["Acme Studio"];
    expect(acme).toMatchObject({
      batchId: acmeBatch.batchId,
      runId: acmeBatch.runId,
      batchIndex: 2,
      tokenAccount: walletTokenAccount,
      amount: 1_234_567n,
      decimals: 6,
      position: 1,
      signature: acmeBatch.signature,
      slot: acmeBatch.slot,
    });
    expect(acme.transfers).toEqual([
      { tokenAccount: acmeThird.tokenAccount, amount: 70_000n },
      { tokenAccount: walletTokenAccount, amount: 1_234_567n },
      { tokenAccount: acmeOther.tokenAccount, amount: 5n },
    ]);
    expect(byOrg["Globex Payouts"]).toMatchObject({ amount: 42n, position: 0, transfers: [{ tokenAccount: walletTokenAccount, amount: 42n }] });
  });

  it("finds the same payouts by the token account, and nothing unconfirmed", async () => {
    const byWallet = await findSettledPayouts(prisma, wallet, { take: 10 });
    const byAccount = await findSettledPayouts(prisma, walletTokenAccount, { take: 10 });
    expect(byAccount.payouts.map((p) => p.batchId).sort()).toEqual(byWallet.payouts.map((p) => p.batchId).sort());
    expect(byAccount.payouts.map((p) => p.batchId)).not.toContain(unconfirmed.batchId);
    expect(await findSettledPayout(prisma, wallet, unconfirmed.batchId)).toBeNull();
  });

  it("never names an organization or a recipient that did not pay the address", async () => {
    const found = await findSettledPayouts(prisma, wallet, { take: 10 });
    const text = JSON.stringify(found, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
    expect(text).not.toContain("Initech");
    expect(text).not.toContain(initechBatch.signature);
    // Recipient names are nobody's business on a public page, not even the address's own.
    expect(text).not.toContain("PII");
    // Another recipient of the same batch sees the batch, and its own position in it.
    const other = await findSettledPayouts(prisma, acmeOther.tokenAccount, { take: 10 });
    expect(other.payouts.map((p) => [p.organizationName, p.position, p.amount])).toEqual([["Acme Studio", 2, 5n]]);
  });

  it("answers nothing for an address nobody paid, and no proof of a batch that did not pay the address", async () => {
    expect(await findSettledPayouts(prisma, Keypair.generate().publicKey.toBase58(), { take: 10 })).toEqual({ payouts: [], total: 0 });
    expect(await findSettledPayout(prisma, wallet, initechBatch.batchId)).toBeNull();
    expect((await findSettledPayout(prisma, wallet, globexBatch.batchId))?.amount).toBe(42n);
  });

  it("pages: the count of all payouts, newest batch first, `take` from `skip`", async () => {
    const all = await findSettledPayouts(prisma, walletTokenAccount, { take: 10 });
    const first = await findSettledPayouts(prisma, walletTokenAccount, { skip: 0, take: 1 });
    const second = await findSettledPayouts(prisma, walletTokenAccount, { skip: 1, take: 1 });
    expect([first.total, second.total]).toEqual([2, 2]);
    expect([...first.payouts, ...second.payouts].map((p) => p.batchId)).toEqual(all.payouts.map((p) => p.batchId));
    // globexBatch was recorded after acmeBatch.
    expect(all.payouts.map((p) => p.batchId)).toEqual([globexBatch.batchId, acmeBatch.batchId]);
  });
});

describe("runIdBytes", () => {
  it("is the UUID's 16 bytes, as the executor puts a run on chain", () => {
    expect(Buffer.from(runIdBytes("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")).toString("hex")).toBe("0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    expect(() => runIdBytes("not-a-uuid")).toThrow(/not a UUID/);
  });
});
