// The public verification page on the real server over a real split on the embedded JSON-RPC chain (reached
// by SOLANA_RPC_URL): a settled payout passes every live check, found by wallet and by token account; a
// batch whose stored transfer list was altered, whose treasury is another's, or whose signature is another
// batch's fails with its own reason; invalid input, an address nobody paid and another organization's
// payouts show nothing they should not; the proof download verifies with `npm run verify -- --rpc` after
// the StableFlow server is stopped; the page is rate limited per client address.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Connection, Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { parsePayoutProof, verifyPayoutProof, type PayoutProof } from "~/settlement/payout-proof";
import { stopChainRuntime } from "~/settlement/chain-runtime.server";
import { splitRecordAddress } from "~/settlement/program";
import { loadVerifyPage } from "~/settlement/verify-pages.server";
import { resetEnvForTests } from "~/utils/env.server";
import { useServedApp } from "../setup/app-server";
import { useTestChain } from "../setup/chain";
import { createSplitWorld, type SplitWorld } from "../setup/chain-split";
import { pgliteTarget } from "../setup/databases";
import { chainRecipients, settleOnChain, type ChainRecipient, type RecordedBatch } from "../setup/settled-payout";

const chain = useTestChain({ slotMs: 40 });
let organizationId = "";
const app = useServedApp(pgliteTarget, async (db) => {
  organizationId = (await ensureDefaultOrganization(db.prisma)).id;
  await db.prisma.organization.update({ where: { id: organizationId }, data: { name: "Acme Studio" } });
});

let workDir: string;
let world: SplitWorld;
let recipients: ChainRecipient[];
let settled: RecordedBatch;
let otherOrgBatch: RecordedBatch;
let otherOrgRecipient: ChainRecipient;
const amounts = [2_500_000n, 1_000_001n, 3n];

let clientCounter = 0;
/** A request from its own client address (a proxy on loopback forwarding it), so tests never share a bucket. */
function get(pathname: string, client = `198.51.100.${++clientCounter % 250}`) {
  return fetch(`${app.server.url}${pathname}`, { headers: { "X-Forwarded-For": client }, redirect: "manual" });
}

/** The payout articles of a page, each with its state and its checks' outcomes. */
function payoutsOf(html: string) {
  return [...html.matchAll(/<article[^>]*data-batch="([^"]+)" data-state="([a-z]+)"[\s\S]*?<\/article>/g)].map((m) => ({
    batchId: m[1],
    state: m[2],
    html: m[0],
    checks: Object.fromEntries([...m[0].matchAll(/data-testid="check-([a-z_]+)" data-ok="(true|false)"><strong>[\s\S]*?<\/strong> <span class="verify-detail">([^<]*)</g)].map((c) => [c[1], { ok: c[2] === "true", detail: c[3].replace(/&#x27;/g, "'") }])),
  }));
}

async function alterStoredRows(statements: string[]) {
  // The rows are insert-only by trigger: a tampered database is simulated by its owner switching triggers off.
  await app.db.prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe("SET LOCAL session_replication_role = replica");
    for (const statement of statements) await tx.$executeRawUnsafe(statement);
  });
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "sf-verify-"));
  world = await createSplitWorld(chain.current.url, { organizationId, funding: 50_000_000n });
  process.env.SOLANA_RPC_URL = chain.current.url;
  process.env.STABLEFLOW_MINT = world.mint.toBase58();
  const keyFile = path.join(workDir, "authority.json");
  await writeFile(keyFile, JSON.stringify(Array.from(world.authority.secretKey)), { mode: 0o600 });
  process.env.STABLEFLOW_AUTHORITY_KEYPAIR = keyFile;

  const prisma = app.db.prisma;
  recipients = await chainRecipients(prisma, world, organizationId, 3);
  settled = await settleOnChain(prisma, world, { organizationId, transfers: recipients.map((recipient, i) => ({ recipient, amount: amounts[i] })) });

  // Another organization (its own treasury) pays someone else: never on the first recipients' pages.
  const globex = await prisma.organization.create({ data: { slug: "globex", name: "Globex Payouts" } });
  const globexWorld = await createSplitWorld(chain.current.url, { organizationId: globex.id, funding: 1_000_000n });
  [otherOrgRecipient] = await chainRecipients(prisma, globexWorld, globex.id, 1);
  otherOrgBatch = await settleOnChain(prisma, globexWorld, { organizationId: globex.id, transfers: [{ recipient: otherOrgRecipient, amount: 9_000n }] });
});
afterAll(async () => {
  delete process.env.SOLANA_RPC_URL;
  delete process.env.STABLEFLOW_MINT;
  delete process.env.STABLEFLOW_AUTHORITY_KEYPAIR;
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("/verify", () => {
  it("verifies a settled payout found by wallet: every check passes live, with the facts and explorer links", async () => {
    const me = recipients[1];
    const response = await get(`/verify/${me.wallet}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    const [payout, ...others] = payoutsOf(html);
    expect(others).toHaveLength(0);
    expect(payout.batchId).toBe(settled.batchId);
    expect(payout.state).toBe("verified");
    expect(Object.keys(payout.checks)).toEqual(["cluster", "record", "plan_hash", "transaction"]);
    expect(Object.values(payout.checks).every((c) => c.ok)).toBe(true);
    expect(payout.checks.transaction.detail).toContain(`rose by exactly ${amounts[1]}`);
    expect(payout.html).toContain("Acme Studio");
    expect(payout.html).toContain('data-amount="1000001"');
    expect(payout.html).toContain("1.000001");
    expect(payout.html).toContain(settled.runId);
    expect(payout.html).toContain(`data-testid="payout-slot">${settled.slot}<`);
    expect(payout.html).toContain(`href="/explorer/tx/${settled.signature}"`);
    expect(payout.html).toContain(`href="/explorer/account/${me.tokenAccount.toBase58()}"`);
    const record = splitRecordAddress({ treasury: world.identity.treasury, runId: Buffer.from(settled.runId.replaceAll("-", ""), "hex"), batchIndex: 0 });
    expect(payout.html).toContain(`href="/explorer/account/${record.toBase58()}"`);
    // A local chain: no links to explorer.solana.com.
    expect(html).not.toContain("explorer.solana.com/");
    // The batch's whole list, in order, the recipient's own row marked.
    const rows = [...payout.html.slice(payout.html.indexOf('data-testid="transfers"')).matchAll(/title="([1-9A-HJ-NP-Za-km-z]{32,44})"[\s\S]*?data-amount="(\d+)"/g)];
    expect(rows.map((r) => [r[1], BigInt(r[2])])).toEqual(recipients.map((r, i) => [r.tokenAccount.toBase58(), amounts[i]]));
    expect(payout.html).toMatch(/<tr class="mine" aria-current="true"><td>2<\/td>/);
  });

  it("finds the same payout by token account, and shows nothing of another organization's payouts", async () => {
    const html = await (await get(`/verify/${recipients[0].tokenAccount.toBase58()}`)).text();
    expect(payoutsOf(html).map((p) => [p.batchId, p.state])).toEqual([[settled.batchId, "verified"]]);
    expect(html).not.toContain("Globex");
    expect(html).not.toContain(otherOrgBatch.signature);
    expect(html).not.toContain(otherOrgRecipient.tokenAccount.toBase58());
    // Recipient names are not shown on a public page (the fixture names them "Recipient N").
    expect(html).not.toContain("Recipient 1");

    const theirs = await (await get(`/verify/${otherOrgRecipient.wallet}`)).text();
    expect(payoutsOf(theirs).map((p) => [p.batchId, p.state])).toEqual([[otherOrgBatch.batchId, "verified"]]);
    expect(theirs).toContain("Globex Payouts");
    expect(theirs).not.toContain("Acme Studio");
  });

  it("says so for an address nobody paid, and answers invalid input with the form and a clear message", async () => {
    const nobody = await get(`/verify/${Keypair.generate().publicKey.toBase58()}`);
    expect(nobody.status).toBe(200);
    const nobodyHtml = await nobody.text();
    expect(nobodyHtml).toContain('data-testid="no-payouts"');
    expect(nobodyHtml).not.toContain("Acme Studio");

    const redirected = await get(`/verify?address=${encodeURIComponent(`  ${recipients[0].wallet} `)}`);
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get("location")).toBe(`/verify/${recipients[0].wallet}`);

    for (const [pathname, message] of [
      ["/verify?address=not-an-address", "The address is not base58 text"],
      ["/verify?address=", "Enter a wallet address or a token account address."],
      [`/verify/${"1".repeat(40)}`, "The address decodes to 40 bytes; a Solana address has 32"],
      ["/verify/0OIl", "The address is not base58 text"],
    ] as const) {
      const response = await get(pathname);
      expect(response.status, pathname).toBe(400);
      const html = await response.text();
      expect(html).toContain('role="alert"');
      expect(html).toContain(message);
      expect(html).toContain('<label for="verify-address">');
    }
  });

  it("downloads the payout's proof as a JSON attachment that verifies against the chain; nothing for a batch that did not pay the address", async () => {
    const me = recipients[2];
    const response = await get(`/verify/${me.wallet}/proof/${settled.batchId}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="stableflow-proof-[0-9a-f]{8}-0-[1-9A-HJ-NP-Za-km-z]{8}\.json"$/);
    const proof = parsePayoutProof(await response.json());
    expect(proof).toMatchObject({
      treasury: world.identity.treasury.toBase58(),
      mint: world.mint.toBase58(),
      decimals: 6,
      runId: settled.runId.replaceAll("-", ""),
      batchIndex: 0,
      position: 2,
      signature: settled.signature,
      slot: Number(settled.slot),
      cluster: { genesisHash: await new Connection(chain.current.url).getGenesisHash(), name: "localnet" },
    });
    expect(proof.transfers).toEqual(recipients.map((r, i) => ({ tokenAccount: r.tokenAccount.toBase58(), amount: amounts[i].toString() })));
    const connection = new Connection(chain.current.url, "confirmed");
    expect((await verifyPayoutProof(connection, proof)).ok).toBe(true);

    // The proof pins the slot, the mint and the decimals: each one wrong fails the transaction check, saying which.
    const lies: [Partial<PayoutProof>, string][] = [
      [{ slot: proof.slot + 1 }, `landed in slot ${proof.slot}, the proof says slot ${proof.slot + 1}`],
      [{ mint: Keypair.generate().publicKey.toBase58() }, "not the proof's token"],
      [{ decimals: 2 }, "the token has 6 decimals on chain, the proof says 2"],
    ];
    for (const [lie, reason] of lies) {
      const result = await verifyPayoutProof(connection, { ...proof, ...lie });
      expect(result.checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["transaction"]);
      expect(result.checks[3].detail).toContain(reason);
    }

    expect((await get(`/verify/${me.wallet}/proof/${otherOrgBatch.batchId}`)).status).toBe(404);
    expect((await get(`/verify/${me.wallet}/proof/not-a-batch`)).status).toBe(404);
    expect((await get(`/verify/garbage/proof/${settled.batchId}`)).status).toBe(400);
  });

  it("fails a batch whose stored list was altered: two entries swapped fails the plan hash alone, an amount changed the record too", async () => {
    const prisma = app.db.prisma;
    const batch = await settleOnChain(prisma, world, { organizationId, transfers: recipients.map((recipient, i) => ({ recipient, amount: 100n + BigInt(i) })), batchIndex: 1 });
    const me = recipients[0];
    const before = payoutsOf(await (await get(`/verify/${me.wallet}`)).text()).find((p) => p.batchId === batch.batchId)!;
    expect(before.state).toBe("verified");

    // Swap the first two entries of the stored list (positions 0 and 1).
    await alterStoredRows([
      `UPDATE split_batch_items SET position = 1000 WHERE batch_id = '${batch.batchId}' AND position = 0`,
      `UPDATE split_batch_items SET position = 0 WHERE batch_id = '${batch.batchId}' AND position = 1`,
      `UPDATE split_batch_items SET position = 1 WHERE batch_id = '${batch.batchId}' AND position = 1000`,
    ]);
    const swapped = payoutsOf(await (await get(`/verify/${me.wallet}`)).text()).find((p) => p.batchId === batch.batchId)!;
    expect(swapped.state).toBe("failed");
    expect(Object.entries(swapped.checks).filter(([, c]) => !c.ok).map(([name]) => name)).toEqual(["plan_hash"]);
    expect(swapped.checks.plan_hash.detail).toContain("the list was altered");

    // Change another recipient's amount in the stored list: the total no longer matches the SplitRecord either.
    await alterStoredRows([
      `UPDATE payout_transfers SET amount = amount + 1 WHERE id = (SELECT transfer_id FROM split_batch_items WHERE batch_id = '${batch.batchId}' AND position = 2)`,
    ]);
    const changed = payoutsOf(await (await get(`/verify/${me.wallet}`)).text()).find((p) => p.batchId === batch.batchId)!;
    expect(changed.state).toBe("failed");
    expect(changed.checks.plan_hash.ok).toBe(false);
    expect(changed.checks.record.ok).toBe(false);
    expect(changed.checks.record.detail).toContain("the SplitRecord disagrees with the proof on total");
    // The untouched batch still verifies on the same page.
    const untouched = payoutsOf(await (await get(`/verify/${me.wallet}`)).text()).find((p) => p.batchId === settled.batchId)!;
    expect(untouched.state).toBe("verified");
  });

  it("fails a batch recorded under another treasury, and one whose signature is another batch's transaction", async () => {
    const prisma = app.db.prisma;
    const me = recipients[1];
    const foreign = await settleOnChain(prisma, world, { organizationId, transfers: [{ recipient: me, amount: 11n }], batchIndex: 2 });
    const stolen = await settleOnChain(prisma, world, { organizationId, transfers: [{ recipient: me, amount: 12n }], batchIndex: 3 });
    const otherTreasury = (await createSplitWorld(chain.current.url, { organizationId, funding: 1n })).identity.treasury.toBase58();
    await alterStoredRows([
      `UPDATE split_batches SET treasury = '${otherTreasury}' WHERE id = '${foreign.batchId}'`,
      `UPDATE split_batch_events SET signature = '${settled.signature}' WHERE batch_id = '${stolen.batchId}'`,
    ]);
    const page = payoutsOf(await (await get(`/verify/${me.wallet}`)).text());

    const underForeign = page.find((p) => p.batchId === foreign.batchId)!;
    expect(underForeign.state).toBe("failed");
    expect(underForeign.checks.record).toEqual({ ok: false, detail: expect.stringMatching(/^no SplitRecord exists at [1-9A-HJ-NP-Za-km-z]{32,44}$/) });
    expect(underForeign.checks.cluster.ok).toBe(true);

    const withStolenSignature = page.find((p) => p.batchId === stolen.batchId)!;
    expect(withStolenSignature.state).toBe("failed");
    expect(Object.entries(withStolenSignature.checks).filter(([, c]) => !c.ok).map(([name]) => name)).toEqual(["transaction"]);
    expect(withStolenSignature.checks.transaction.detail).toContain(`did not execute batch 3 of run ${stolen.runId.replaceAll("-", "")}`);
  });

  it("carries the security headers and no inline style or script without the response's nonce", async () => {
    const response = await get(`/verify/${recipients[0].wallet}`);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("style-src 'self'");
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    const html = await response.text();
    expect(html).not.toMatch(/\sstyle="/);
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) if (!/\ssrc=/.test(tag)) expect(tag).toContain(`nonce="${nonce}"`);
  });

  it("limits lookups per client address: past the burst a client gets 429 with Retry-After, another client does not", async () => {
    const client = "203.0.113.77";
    const nobody = Keypair.generate().publicKey.toBase58();
    // The burst is 20; the bucket refills a token every 3 s, so a loaded machine may let a few more through.
    let allowed = 0;
    let limited: Response | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const response = await get(`/verify/${nobody}`, client);
      if (response.status === 429) limited = response;
      else {
        expect(response.status).toBe(200);
        allowed++;
      }
    }
    expect(allowed).toBeGreaterThanOrEqual(20);
    expect(allowed).toBeLessThan(35);
    expect(limited?.status).toBe(429);
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited!.text()).toContain("Too many lookups from your address");
    expect((await get(`/verify/${nobody}/proof/${settled.batchId}`, client)).status).toBe(429);
    expect((await get(`/verify/${nobody}`, "203.0.113.78")).status).toBe(200);
  });

  it("the page's loader, configured for devnet but answered by another chain, fails the cluster check and names devnet", async () => {
    // In this process (the served build keeps its own configuration): the loader the route calls.
    process.env.SOLANA_CLUSTER = "devnet";
    resetEnvForTests();
    try {
      const answer = await loadVerifyPage({ address: recipients[0].wallet, page: null, context: { clientAddress: "192.0.2.200" } });
      const page = answer.data;
      expect(page.cluster).toBe("devnet");
      const payout = page.payouts.find((p) => p.batchId === settled.batchId)!;
      expect(payout.verification.state).toBe("failed");
      const checks = payout.verification.state === "unchecked" ? [] : payout.verification.checks;
      expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(["cluster"]);
      expect(checks[0].detail).toContain("the proof is for EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG: wrong cluster");
    } finally {
      delete process.env.SOLANA_CLUSTER;
      resetEnvForTests();
      stopChainRuntime();
    }
  });

  it("`npm run verify --rpc` verifies the downloaded proof with the StableFlow server stopped", async () => {
    const me = recipients[0];
    const file = path.join(workDir, "proof.json");
    const response = await get(`/verify/${me.wallet}/proof/${settled.batchId}`);
    await writeFile(file, await response.text());
    await app.server.close();
    await expect(fetch(`${app.server.url}/verify`)).rejects.toThrow();

    const run = spawnSync(process.execPath, ["node_modules/tsx/dist/cli.mjs", "scripts/verify.ts", file, "--rpc", chain.current.url], {
      encoding: "utf8",
      timeout: 120_000,
      // Nothing of the app's configuration: the verifier needs the proof and an endpoint only.
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NODE_ENV: "test" },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.match(/^PASS /gm)).toHaveLength(4);
    expect(run.stdout).toContain(`rose by exactly ${amounts[0]}`);
  });
});
