// The console's recipient and policy changes on the real server, per mutating route: anonymous, a viewer,
// an operator of another organization (404) and a missing or wrong CSRF token are each refused with
// nothing changed; then the same requests from an operator do change what they name (so each refusal was
// the check at work). Field errors come back beside their fields; a stale edit and a second activation are
// refused with a sentence. The chain is unreachable here, which the recipient pages say in one sentence.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPolicyVersion } from "~/models/policies.server";
import { sessionCookieName } from "~/utils/session.server";
import { useServedApp } from "../setup/app-server";
import { createConsoleWorld, newWallet, snapshot, TEST_MINT, type ConsoleWorld } from "../setup/console-world";
import { databaseTargets } from "../setup/databases";
import { csrfPair, postForm, type SignedInOperator } from "../setup/operators";
import { fieldError, getPage } from "../setup/pages";

let keyDir: string;
delete process.env.STABLEFLOW_PUBLIC_URL;
beforeAll(async () => {
  // A configured payout token on a chain that does not answer (a closed loopback port).
  keyDir = await mkdtemp(path.join(os.tmpdir(), "sf-console-"));
  const keyFile = path.join(keyDir, "authority.json");
  await writeFile(keyFile, JSON.stringify(Array.from(Keypair.generate().secretKey)), { mode: 0o600 });
  process.env.SOLANA_RPC_URL = "http://127.0.0.1:9";
  process.env.STABLEFLOW_MINT = TEST_MINT.toBase58();
  process.env.STABLEFLOW_AUTHORITY_KEYPAIR = keyFile;
});
afterAll(async () => {
  delete process.env.SOLANA_RPC_URL;
  delete process.env.STABLEFLOW_MINT;
  delete process.env.STABLEFLOW_AUTHORITY_KEYPAIR;
  await rm(keyDir, { recursive: true, force: true });
});

type Who = "anonymous" | "viewer" | "stranger";

describe.each(databaseTargets())("console recipient and policy changes on $name", (target) => {
  const app = useServedApp(target);
  let w: ConsoleWorld;
  let draftV2: string;

  beforeAll(async () => {
    w = await createConsoleWorld(app.db);
    draftV2 = (
      await createPolicyVersion(app.db.prisma, {
        organizationId: w.organizationId,
        policyName: "default",
        rules: [
          { recipientId: w.recipients.ada, kind: "PERCENTAGE", basisPoints: 3333 },
          { recipientId: w.recipients.bea, kind: "FIXED", fixedAmount: 1_000_001n },
        ],
      })
    ).id;
  });

  const person = (who: Who | "operator"): { cookie: string; csrf: string } => (who === "anonymous" ? csrfPair() : (w[who] as SignedInOperator));

  // Each mutation, with the fields that would change something. Built late: ids exist after beforeAll.
  // (Creating names no row: another organization's operator creating a recipient or a policy creates it in
  // their own organization, tested below, so `stranger` is not in those rows of the matrix.)
  const mutations: { label: string; path: () => string; fields: () => Record<string, string>; refused: readonly Who[] }[] = [
    { label: "create recipient", path: () => "/console/recipients", fields: () => ({ name: "Dee", walletAddress: newWallet() }), refused: ["anonymous", "viewer"] },
    { label: "edit recipient", path: () => `/console/recipients/${w.recipients.ada}`, fields: () => ({ intent: "update", name: "Ada Renamed", walletAddress: newWallet() }), refused: ["anonymous", "viewer", "stranger"] },
    { label: "pause recipient", path: () => `/console/recipients/${w.recipients.ada}`, fields: () => ({ intent: "set-status", status: "PAUSED" }), refused: ["anonymous", "viewer", "stranger"] },
    { label: "new policy", path: () => "/console/policies/new", fields: () => policyFields("fresh", 0), refused: ["anonymous", "viewer"] },
    { label: "edit policy", path: () => `/console/policies/${w.policyV1}`, fields: () => policyFields("default", 2), refused: ["anonymous", "viewer", "stranger"] },
    { label: "activate policy", path: () => `/console/policies/${draftV2}`, fields: () => ({ intent: "activate" }), refused: ["anonymous", "viewer", "stranger"] },
  ];
  function policyFields(name: string, basedOnVersion: number): Record<string, string> {
    return {
      intent: "save",
      policyName: name,
      basedOnVersion: String(basedOnVersion),
      "rules.0.recipientId": w.recipients.cy,
      "rules.0.kind": "PERCENTAGE",
      "rules.0.basisPoints": "1234",
    };
  }
  const matrix = mutations.flatMap((m) => m.refused.map((who) => ({ ...m, who })));

  it.each(matrix)("error: POST $label refused for $who, nothing changed", async ({ path: to, fields, who }) => {
    const before = await snapshot(app.db);
    const { cookie, csrf } = person(who);
    const response = await postForm(app.server.url, to(), { csrf, ...fields() }, { cookie });
    if (who === "anonymous") {
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toMatch(/^\/login\?next=/);
    } else if (who === "stranger") {
      expect(response.status).toBe(404);
      expect(await response.text()).toMatch(/Your organization has no such (recipient|policy version); nothing was changed/);
    } else {
      expect(response.status).toBe(403);
      expect(await response.text()).toContain("Viewers can see the console but not change anything");
    }
    expect(await snapshot(app.db)).toEqual(before);
  });

  it.each(mutations)("error: POST $label refused for an operator without the CSRF token, with a wrong one, or without the CSRF cookie", async ({ path: to, fields }) => {
    const op = w.operator;
    const attempts = [
      { label: "missing token", body: fields(), cookie: op.cookie },
      { label: "wrong token", body: { ...fields(), csrf: csrfPair().csrf }, cookie: op.cookie },
      { label: "no CSRF cookie", body: { ...fields(), csrf: op.csrf }, cookie: `${sessionCookieName()}=${op.token}` },
    ];
    for (const attempt of attempts) {
      const before = await snapshot(app.db);
      const response = await postForm(app.server.url, to(), attempt.body, { cookie: attempt.cookie });
      expect(response.status, attempt.label).toBe(403);
      expect(await response.text(), attempt.label).toContain("nothing was changed");
      expect(await snapshot(app.db), attempt.label).toEqual(before);
    }
  });

  it("error: another organization's operator naming our recipient in a policy is refused; creating puts rows in their own organization", async () => {
    const s = w.stranger;
    const before = await snapshot(app.db);
    const refused = await postForm(app.server.url, "/console/policies/new", { csrf: s.csrf, ...policyFields("sneaky", 0) }, { cookie: s.cookie });
    expect(refused.status).toBe(422);
    expect(fieldError(await refused.text(), "rules.0.recipientId")).toBe("The recipient does not exist.");
    expect(await snapshot(app.db)).toEqual(before);
    const wallet = newWallet();
    const created = await postForm(app.server.url, "/console/recipients", { csrf: s.csrf, name: "Theirs", walletAddress: wallet }, { cookie: s.cookie });
    expect(created.status).toBe(302);
    const row = await app.db.prisma.recipient.findFirstOrThrow({ where: { walletAddress: wallet } });
    expect(row.organizationId).toBe(w.otherOrganizationId);
  });

  it("the same requests from an operator change what they name, audited (the refusals above were the checks)", async () => {
    const op = w.operator;
    const post = (to: string, fields: Record<string, string>) => postForm(app.server.url, to, { csrf: op.csrf, ...fields }, { cookie: op.cookie });
    const wallet = newWallet();
    const created = await post("/console/recipients", { name: "Dee", walletAddress: wallet });
    expect(created.status).toBe(302);
    const dee = await app.db.prisma.recipient.findFirstOrThrow({ where: { walletAddress: wallet } });
    expect(created.headers.get("location")).toBe(`/console/recipients/${dee.id}?created=1`);
    expect([dee.organizationId, dee.name, dee.status, dee.tokenAccountDerived]).toEqual([w.organizationId, "Dee", "ACTIVE", true]);

    // Editing the wallet clears a verification.
    await app.db.prisma.recipient.update({ where: { id: w.recipients.ada }, data: { walletVerifiedAt: new Date() } });
    const newAdaWallet = newWallet();
    expect((await post(`/console/recipients/${w.recipients.ada}`, { intent: "update", name: "Ada Lovelace", walletAddress: newAdaWallet })).status).toBe(200);
    const ada = await app.db.prisma.recipient.findUniqueOrThrow({ where: { id: w.recipients.ada } });
    expect([ada.name, ada.walletAddress, ada.walletVerifiedAt]).toEqual(["Ada Lovelace", newAdaWallet, null]);

    expect((await post(`/console/recipients/${w.recipients.ada}`, { intent: "set-status", status: "PAUSED" })).status).toBe(200);
    expect((await app.db.prisma.recipient.findUniqueOrThrow({ where: { id: w.recipients.ada } })).status).toBe("PAUSED");
    expect((await post(`/console/recipients/${w.recipients.ada}`, { intent: "set-status", status: "ACTIVE" })).status).toBe(200);
    expect((await app.db.prisma.recipient.findUniqueOrThrow({ where: { id: w.recipients.ada } })).status).toBe("ACTIVE");

    const activated = await post(`/console/policies/${draftV2}`, { intent: "activate" });
    expect(activated.status).toBe(200);
    expect((await app.db.prisma.payoutPolicyVersion.findUniqueOrThrow({ where: { id: draftV2 } })).status).toBe("ACTIVE");
    expect((await app.db.prisma.payoutPolicyVersion.findUniqueOrThrow({ where: { id: w.policyV1 } })).status).toBe("RETIRED");

    const saved = await post(`/console/policies/${w.policyV1}`, policyFields("default", 2));
    expect(saved.status).toBe(302);
    const v3 = await app.db.prisma.payoutPolicyVersion.findFirstOrThrow({ where: { organizationId: w.organizationId, version: 3 }, include: { rules: true } });
    expect(saved.headers.get("location")).toBe(`/console/policies/${v3.id}?saved=1`);
    expect(v3.status).toBe("DRAFT");
    expect(v3.rules.map((r) => [r.recipientId, r.kind, r.basisPoints])).toEqual([[w.recipients.cy, "PERCENTAGE", 1234]]);

    const audit = await app.db.prisma.auditLog.findMany({ where: { organizationId: w.organizationId, actorId: op.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual(["recipient.created", "recipient.updated", "recipient.paused", "recipient.resumed", "policy.activated", "policy.version_created"]);
    expect(audit[1]!.data).toMatchObject({ changed: ["name", "walletAddress", "tokenAccount"], walletVerificationCleared: true });
  });

  it("error: field errors from the shared schema sit beside their fields; the form keeps what was typed", async () => {
    const op = w.operator;
    const bad = await postForm(app.server.url, "/console/recipients", { csrf: op.csrf, name: "", walletAddress: "0OIl-not-base58" }, { cookie: op.cookie });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(fieldError(html, "name")).toBe("Enter the recipient's name.");
    expect(fieldError(html, "walletAddress")).toBe("This is not a Solana address: use the base58 text your wallet shows.");
    expect(html).toContain('value="0OIl-not-base58"');

    const taken = await app.db.prisma.recipient.findUniqueOrThrow({ where: { id: w.recipients.bea } });
    const dup = await postForm(app.server.url, "/console/recipients", { csrf: op.csrf, name: "Bea again", walletAddress: taken.walletAddress }, { cookie: op.cookie });
    expect(dup.status).toBe(409);
    expect(fieldError(await dup.text(), "walletAddress")).toBe("Another recipient of this organization already uses this wallet.");

    const rules = await postForm(
      app.server.url,
      "/console/policies/new",
      {
        csrf: op.csrf,
        intent: "save",
        policyName: "errors",
        basedOnVersion: "0",
        "rules.0.recipientId": w.recipients.ada,
        "rules.0.kind": "PERCENTAGE",
        "rules.0.basisPoints": "12.5",
        "rules.1.recipientId": w.recipients.bea,
        "rules.1.kind": "FIXED",
        "rules.1.fixedAmount": "1.0000001",
      },
      { cookie: op.cookie },
    );
    expect(rules.status).toBe(400);
    const rulesHtml = await rules.text();
    expect(fieldError(rulesHtml, "rules.0.basisPoints")).toBe("Enter basis points from 1 to 10000 (100 = 1 %).");
    expect(fieldError(rulesHtml, "rules.1.fixedAmount")).toBe("Use at most 6 decimals.");
  });

  it("error: a stale edit (another version saved since) and activating a version twice are refused with a sentence, nothing changed", async () => {
    const op = w.operator;
    const before = await snapshot(app.db);
    const latest = Math.max(...before.versions.filter((v) => v.id !== w.foreignVersion).map((v) => v.version));
    const stale = await postForm(app.server.url, `/console/policies/${w.policyV1}`, { csrf: op.csrf, ...policyFields("default", 1) }, { cookie: op.cookie });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain(`Version ${latest} of this policy was saved after version 1, which you edited; open the newest version and make your change there.`);
    const twice = await postForm(app.server.url, `/console/policies/${w.policyV1}`, { csrf: op.csrf, intent: "activate" }, { cookie: op.cookie });
    expect(twice.status).toBe(409);
    expect(await twice.text()).toMatch(/Policy version is (ACTIVE|RETIRED), not DRAFT\./);
    expect(await snapshot(app.db)).toEqual(before);
  });

  it("the recipient pages say in a sentence that the chain is unavailable, and still show balances; a viewer sees no form", async () => {
    const list = await getPage(app.server.url, "/console/recipients", w.viewer);
    expect(list.status).toBe(200);
    expect(list.text).toMatch(/The chain is unavailable \(http:\/\/127\.0\.0\.1:9\/? did not answer\)/);
    expect(list.html).not.toContain('name="walletAddress"');
    const detail = await getPage(app.server.url, `/console/recipients/${w.recipients.bea}`, w.viewer);
    expect(detail.text).toMatch(/On chain\s*The chain is unavailable/);
    expect(detail.text).toMatch(/Accrued \(owed to them\) 0\.00 sUSD Clawbacks owed \(by them\) 0\.00 sUSD/);
    expect((await getPage(app.server.url, `/console/recipients/${w.foreignRecipient}`, w.viewer)).status).toBe(404);
    expect((await getPage(app.server.url, `/console/policies/${w.foreignVersion}`, w.viewer)).status).toBe(404);
  });
});
