// The treasury page and the overview's vault against a live embedded chain the app reaches by
// SOLANA_RPC_URL: the organization's vault address, its balance exact at the mint's decimals, its history
// of a deposit, a withdrawal and a split read from the chain, the runway with the low-balance warning, and
// for an organization without a treasury the sentence that says how to create one (never another's vault).
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runIdBytes } from "~/models/payout-verification.server";
import { fundTreasury, initializeTreasury, treasuryIdentity, withdrawFromTreasury, type TreasuryIdentity } from "~/settlement/treasury.server";
import { useServedApp } from "../setup/app-server";
import { useTestChain } from "../setup/chain";
import { createSplitWorld, type SplitWorld } from "../setup/chain-split";
import { databaseTargets } from "../setup/databases";
import { createTestOrganization, signedInOperator, type SignedInOperator } from "../setup/operators";
import { recordBatchRows } from "../setup/settled-payout";

const chain = useTestChain({ slotMs: 40 });
const targets = databaseTargets();
/** One organization (and treasury) per database target, all under the same mint and authority. */
const organizationIds = Object.fromEntries(targets.map((t) => [t.name, randomUUID()])) as Record<string, string>;
const treasuries: Record<string, TreasuryIdentity> = {};
let world: SplitWorld;
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "sf-console-treasury-"));
  const [first, ...rest] = targets.map((t) => t.name);
  world = await createSplitWorld(chain.current.url, { organizationId: organizationIds[first!]!, funding: 5_000_000n });
  treasuries[first!] = world.identity;
  for (const name of rest) {
    const identity = treasuryIdentity({ programId: world.identity.programId, mint: world.mint, seedAuthority: world.authority.publicKey, organizationId: organizationIds[name]! });
    await world.mintTo(world.authority.publicKey, 5_000_000n);
    await initializeTreasury(world.client, { identity, authority: world.authority, feePayer: world.authority });
    await fundTreasury(world.client, { identity, authority: world.authority, feePayer: world.authority, amount: 5_000_000n });
    treasuries[name] = identity;
  }
  // Each treasury: 5.00 deposited, 1.25 withdrawn, 0.330001 paid by a split.
  for (const name of targets.map((t) => t.name)) {
    const identity = treasuries[name]!;
    const [destination, recipient] = await world.newRecipients(2);
    await withdrawFromTreasury(world.client, { identity, authority: world.authority, feePayer: world.authority, amount: 1_250_000n, destination: destination! });
    if (identity === world.identity) {
      await world.split({ runId: runIdBytes(randomUUID()), batchIndex: 0, transfers: [{ tokenAccount: recipient!, amount: 330_001n }] });
    }
  }
  const keyFile = path.join(workDir, "authority.json");
  await writeFile(keyFile, JSON.stringify(Array.from(world.authority.secretKey)), { mode: 0o600 });
  process.env.SOLANA_RPC_URL = chain.current.url;
  process.env.STABLEFLOW_MINT = world.mint.toBase58();
  process.env.STABLEFLOW_AUTHORITY_KEYPAIR = keyFile;
}, 240_000);
afterAll(async () => {
  delete process.env.SOLANA_RPC_URL;
  delete process.env.STABLEFLOW_MINT;
  delete process.env.STABLEFLOW_AUTHORITY_KEYPAIR;
  await rm(workDir, { recursive: true, force: true });
});

const get = (base: string, p: string, cookie: string) => fetch(`${base}${p}`, { headers: { cookie }, redirect: "manual" });

describe.each(targets)("the treasury in the console on $name", (target) => {
  let viewer: SignedInOperator;
  let stranger: SignedInOperator;
  let strangerSlug: string;
  const app = useServedApp(target, async (db) => {
    const org = await db.prisma.organization.create({ data: { id: organizationIds[target.name]!, slug: `treasury-${target.name}-${randomUUID().slice(0, 8)}`, name: "Treasury org" } });
    viewer = await signedInOperator(db.prisma, { organizationId: org.id, role: "VIEWER" });
    const other = await createTestOrganization(db.prisma, "No treasury");
    strangerSlug = other.slug;
    stranger = await signedInOperator(db.prisma, { organizationId: other.id, role: "ADMIN" });
    // A run of 2.00 that was paid (the average), and a READY run of 5.00 not yet paid (owed)
    const recipient = await db.prisma.recipient.create({
      data: { organizationId: org.id, name: "Paid recipient", walletAddress: (await world.newRecipients(1))[0]!.toBase58(), tokenAccount: (await world.newRecipients(1))[0]!.toBase58() },
    });
    const paid = await recordBatchRows(db.prisma, { organizationId: org.id, transfers: [{ recipientId: recipient.id, tokenAccount: recipient.tokenAccount, amount: 2_000_000n }] });
    for (const status of ["APPROVED", "EXECUTING", "SETTLED"] as const) await db.prisma.payoutRun.update({ where: { id: paid.runId }, data: { status } });
    await db.prisma.payoutRun.create({ data: { organizationId: org.id, kind: "SWEEP", tokenDecimals: 6, distributable: 5_000_000n, totalTransfers: 5_000_000n, treasuryRemainder: 0n } });
  });

  it("a viewer sees the vault, its exact balance, the program's totals and its history of deposit, withdrawal and split from the chain", async () => {
    const identity = treasuries[target.name]!;
    const withSplit = identity === world.identity;
    const html = await (await get(app.server.url, "/console/treasury", viewer.cookie)).text();
    expect(html).toContain(`data-testid="vault-address">${identity.vault.toBase58()}<`);
    expect(html).toContain(identity.mint.toBase58());
    expect(html).toContain("(6 decimals)");
    expect(html).toContain(`data-testid="vault-balance">${withSplit ? "3.419999" : "3.75"} tokens<`);
    expect(html).toContain(withSplit ? "0.330001 tokens in 1 split" : "0.00 tokens in 0 splits");
    const kinds = [...html.matchAll(/<tr data-kind="(\w+)">[\s\S]*?<td class="num">([^<]+)<\/td>/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(kinds).toEqual([...(withSplit ? ["split 0.330001 tokens"] : []), "withdrawal 1.25 tokens", "deposit 5.00 tokens"]);
    expect(html).toContain("npm run treasury -- fund");

    // Older pages start after a signature: after the withdrawal only the deposit is left
    const withdrawal = /<tr data-kind="withdrawal">[\s\S]*?href="\/explorer\/tx\/([1-9A-HJ-NP-Za-km-z]+)"/.exec(html)?.[1];
    expect(withdrawal).toBeDefined();
    const older = await (await get(app.server.url, `/console/treasury?before=${withdrawal}`, viewer.cookie)).text();
    expect([...older.matchAll(/<tr data-kind="(\w+)">/g)].map((m) => m[1])).toEqual(["deposit"]);
    expect(older).toContain(">Newest</a>");
  });

  it("the runway: one average run of 2.00 covered, less than the 5.00 owed, so the low-balance warning is raised on the overview", async () => {
    const html = await (await get(app.server.url, "/console", viewer.cookie)).text();
    expect(html).toContain("Vault balance:");
    expect(html).toMatch(/That covers 1 average run of 2\.00 tokens/);
    expect(html).toContain('data-testid="low-balance"');
    expect(html).toContain("less than the 5.00 tokens that compiled runs still have to pay");
    expect(html).toContain("covers only 1 average run");
  });

  it("an organization without a treasury is told how to create one, and sees no other organization's vault", async () => {
    const html = await (await get(app.server.url, "/console/treasury", stranger.cookie)).text();
    expect(html).toContain(`npm run treasury -- init --org ${strangerSlug}`);
    for (const identity of Object.values(treasuries)) expect(html).not.toContain(identity.vault.toBase58());
    expect(html).not.toContain("Vault balance:");
    expect(html).not.toContain('data-kind="deposit"');
  });
});
