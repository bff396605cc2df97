// The wallet-signed lookup of /verify on the real server: a recipient signs the page's message and sees, per
// organization paying the wallet, the balance held for it and the clawback it owes with each entry's reason;
// nothing of other wallets; refused for another key's signature, an expired message, a replay, a token
// account; in Chromium the "Sign with my wallet" button signs through an injected wallet.
import { existsSync, mkdirSync } from "node:fs";
import { ed25519 } from "@noble/curves/ed25519";
import { Keypair } from "@solana/web3.js";
import bs58 from "bs58";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { buildBalanceChallenge } from "~/ledger/balance-challenge";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { createRecipient, recordClawback } from "~/models/recipients.server";
import { useServedApp } from "../setup/app-server";
import { pgliteTarget } from "../setup/databases";
import { recordBatchRows } from "../setup/settled-payout";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const MINT = Keypair.generate().publicKey.toBase58();
const holder = Keypair.generate();
const stranger = Keypair.generate();
let tokenAccount = "";

const app = useServedApp(pgliteTarget, async (db) => {
  const prisma = db.prisma;
  const acme = await ensureDefaultOrganization(prisma);
  await prisma.organization.update({ where: { id: acme.id }, data: { name: "Acme Studio" } });
  const globex = await prisma.organization.create({ data: { slug: "globex", name: "Globex Payouts" } });
  const initech = await prisma.organization.create({ data: { slug: "initech", name: "Initech Strangers" } });
  const atAcme = await createRecipient(prisma, { organizationId: acme.id, name: "PII Holder", walletAddress: holder.publicKey.toBase58(), mint: MINT });
  const atGlobex = await createRecipient(prisma, { organizationId: globex.id, name: "PII Holder", walletAddress: holder.publicKey.toBase58(), mint: MINT });
  const strangerAtInitech = await createRecipient(prisma, { organizationId: initech.id, name: "PII Stranger", walletAddress: stranger.publicKey.toBase58(), mint: MINT });
  tokenAccount = atAcme.tokenAccount;
  const entry = (organizationId: string, recipientId: string, kind: "ACCRUAL" | "ACCRUAL_PAID", amount: bigint, memo: string) =>
    prisma.recipientBalanceEntry.create({ data: { organizationId, recipientId, kind, amount, tokenDecimals: 6, memo } });
  await entry(acme.id, atAcme.id, "ACCRUAL", 30_000n, "BELOW_MIN_PAYOUT");
  await entry(acme.id, atAcme.id, "ACCRUAL", 5n, "SCHEDULED");
  await entry(acme.id, atAcme.id, "ACCRUAL_PAID", 4n, "paid with this run");
  // A transfer held out of its batch (the token account could not receive), its amount back in the balance.
  const batch = await recordBatchRows(prisma, { organizationId: acme.id, transfers: [{ recipientId: atAcme.id, tokenAccount, amount: 700n }], confirmed: false });
  const held = await entry(acme.id, atAcme.id, "ACCRUAL", 700n, "held out of batch");
  const transfer = await prisma.splitBatchItem.findFirstOrThrow({ where: { batchId: batch.batchId }, select: { transferId: true } });
  await prisma.transferHold.create({ data: { transferId: transfer.transferId, batchId: batch.batchId, reason: "the token account is frozen", balanceEntryId: held.id } });
  await recordClawback(prisma, { organizationId: globex.id, recipientId: atGlobex.id, amount: 1_250_000n, tokenDecimals: 6, memo: "PII customer asked for a refund" });
  await entry(initech.id, strangerAtInitech.id, "ACCRUAL", 999n, "BELOW_MIN_PAYOUT");
});

let clientCounter = 0;
function request(pathname: string, init: RequestInit = {}) {
  return fetch(`${app.server.url}${pathname}`, { ...init, headers: { ...init.headers, "X-Forwarded-For": `192.0.2.${++clientCounter % 250}` }, redirect: "manual" });
}

const unescape = (html: string) => html.replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

async function challenge(wallet: string): Promise<string> {
  const html = await (await request(`/verify/${wallet}/balances`)).text();
  const value = /<input type="hidden" name="message" value="([^"]*)"/.exec(html)?.[1];
  if (!value) throw new Error("no message on the page");
  return unescape(value);
}

function sign(message: string, key: Keypair): string {
  return bs58.encode(ed25519.sign(new TextEncoder().encode(message), key.secretKey.slice(0, 32)));
}

function submit(wallet: string, message: string, signature: string) {
  return request(`/verify/${wallet}/balances`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ message, signature }).toString(),
  });
}

describe("wallet-signed balance lookup", () => {
  it("shows the signer what each organization holds back for the wallet and why, and nothing of anyone else", async () => {
    const wallet = holder.publicKey.toBase58();
    const message = await challenge(wallet);
    expect(message).toContain(`Wallet: ${wallet}`);
    const response = await submit(wallet, message, sign(message, holder));
    expect(response.status).toBe(200);
    const html = unescape(await response.text());
    expect(html).toContain('data-testid="balances-verified"');
    const sections = [...html.matchAll(/<section[^>]*aria-label="([^"]+)"[\s\S]*?<\/section>/g)];
    expect(sections.map((s) => s[1]).sort()).toEqual(["Acme Studio", "Globex Payouts"]);
    const acme = sections.find((s) => s[1] === "Acme Studio")![0];
    // 30,000 + 5 + 700 accrued - 4 paid out
    expect(acme).toContain('data-testid="held-balance" data-amount="30701"');
    expect(acme).toContain('data-testid="clawback-owed" data-amount="0"');
    expect(acme).toContain("your share was below your minimum payout");
    expect(acme).toContain("the organization pays on a schedule");
    expect(acme).toContain("your token account could not receive it (the token account is frozen)");
    expect(acme).toContain("paid out of your balance by a run");
    const globex = sections.find((s) => s[1] === "Globex Payouts")![0];
    expect(globex).toContain('data-testid="clawback-owed" data-amount="1250000"');
    expect(globex).toContain("1.250000");
    expect(globex).toContain("is owed back");
    expect(html).not.toContain("Initech");
    // No free-text memo and no recipient name reaches the page.
    expect(html).not.toContain("PII");
  });

  it("refuses another key's signature, an expired message, a replay and a missing signature, each saying why", async () => {
    const wallet = holder.publicKey.toBase58();
    const message = await challenge(wallet);
    const forged = await submit(wallet, message, sign(message, stranger));
    expect(forged.status).toBe(401);
    expect(unescape(await forged.text())).toContain("the signature is not this wallet's over this message");

    const old = buildBalanceChallenge(wallet, "oldnonce-0123456789abcd", new Date(Date.now() - 6 * 60_000));
    const expired = await submit(wallet, old, sign(old, holder));
    expect(expired.status).toBe(400);
    expect(await expired.text()).toContain("the message has expired");

    const fresh = await challenge(wallet);
    expect((await submit(wallet, fresh, sign(fresh, holder))).status).toBe(200);
    const replay = await submit(wallet, fresh, sign(fresh, holder));
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("already used");

    const empty = await submit(wallet, await challenge(wallet), "");
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Paste the signature");

    // Signing the stranger's lookup with the holder's key shows the holder nothing of the stranger's.
    const theirs = await challenge(stranger.publicKey.toBase58());
    expect((await submit(stranger.publicKey.toBase58(), theirs, sign(theirs, holder))).status).toBe(401);
  });

  it("is offered for a wallet, not for a token account (which cannot sign)", async () => {
    const refused = await request(`/verify/${tokenAccount}/balances`);
    expect(refused.status).toBe(400);
    expect(unescape(await refused.text())).toContain("Held-back balances are shown to a wallet that can sign");
    expect(await (await request(`/verify/${holder.publicKey.toBase58()}`)).text()).toContain('data-testid="balances-link"');
    expect(await (await request(`/verify/${tokenAccount}`)).text()).not.toContain('data-testid="balances-link"');
  });

  it("in Chromium, the wallet button signs through the browser wallet and the balances appear", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      const violations: string[] = [];
      page.on("console", (m) => {
        if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
      });
      // A stand-in for a wallet extension: signMessage signs with the holder's key (in the test process).
      await page.exposeFunction("__testWalletSign", (bytes: number[]) => Array.from(ed25519.sign(Uint8Array.from(bytes), holder.secretKey.slice(0, 32))));
      await page.addInitScript(() => {
        const w = window as unknown as { solana: unknown; __testWalletSign(bytes: number[]): Promise<number[]> };
        w.solana = {
          connect: async () => undefined,
          signMessage: async (message: Uint8Array) => ({ signature: Uint8Array.from(await w.__testWalletSign(Array.from(message))) }),
        };
      });
      await page.goto(`${app.server.url}/verify/${holder.publicKey.toBase58()}`);
      await page.getByTestId("balances-link").click();
      await page.waitForURL(/\/balances$/);
      await page.getByRole("button", { name: "Sign with my wallet" }).click();
      await page.getByTestId("balances-verified").waitFor();
      await expect(page.locator('section[aria-label="Acme Studio"] [data-testid="held-balance"]').getAttribute("data-amount")).resolves.toBe("30701");
      const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, viewport: window.innerWidth }));
      expect(widths.scroll).toBeLessThanOrEqual(widths.viewport);
      mkdirSync("artifacts/screenshots", { recursive: true });
      await page.screenshot({ path: "artifacts/screenshots/verify-balances-390.png", fullPage: true });
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
