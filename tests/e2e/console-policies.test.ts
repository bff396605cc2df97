// The console's policy pages on the real server: the diff of two versions names each added, removed and
// changed rule and term; the preview splits a sample payment with a draft through the ledger's compiler,
// its figures exact to the base unit (worked out by hand below) and conserving (shares + remainder =
// distributable); a sample that is not exact is refused beside its field.
import { beforeAll, describe, expect, it } from "vitest";
import { parseMoney } from "~/ledger/money";
import { createPolicyVersion } from "~/models/policies.server";
import { useServedApp } from "../setup/app-server";
import { createConsoleWorld, type ConsoleWorld } from "../setup/console-world";
import { databaseTargets } from "../setup/databases";
import { fieldError, getPage, rowsMarked } from "../setup/pages";

delete process.env.STABLEFLOW_PUBLIC_URL;

describe.each(databaseTargets())("console policy pages on $name", (target) => {
  const app = useServedApp(target);
  let w: ConsoleWorld;
  let v2: string;
  let v3: string;

  beforeAll(async () => {
    w = await createConsoleWorld(app.db);
    const { ada, bea, cy } = w.recipients;
    // v1 (active): Ada 50 %. v2 (draft): Ada 33.33 %, Bea 1.000001 sUSD fixed, Cy 25 % capped at 1.5 sUSD a payment.
    v2 = (
      await createPolicyVersion(app.db.prisma, {
        organizationId: w.organizationId,
        policyName: "default",
        rules: [
          { recipientId: ada, kind: "PERCENTAGE", basisPoints: 3333 },
          { recipientId: bea, kind: "FIXED", fixedAmount: 1_000_001n },
          { recipientId: cy, kind: "PERCENTAGE", basisPoints: 2500, capPerPayment: 1_500_000n },
        ],
      })
    ).id;
    // v3 (draft): daily, verified wallets only; Ada's rule removed, Bea's amount raised, Cy's unchanged.
    v3 = (
      await createPolicyVersion(app.db.prisma, {
        organizationId: w.organizationId,
        policyName: "default",
        payoutSchedule: "DAILY",
        requireVerifiedRecipients: true,
        rules: [
          { recipientId: bea, kind: "FIXED", fixedAmount: 2_000_000n },
          { recipientId: cy, kind: "PERCENTAGE", basisPoints: 2500, capPerPayment: 1_500_000n },
        ],
      })
    ).id;
  });

  it("the diff of two versions: rules added, removed and changed field by field, and the terms", async () => {
    const forward = await getPage(app.server.url, `/console/policies/diff?from=${w.policyV1}&to=${v2}`, w.viewer);
    expect(forward.status).toBe(200);
    expect(forward.text).toContain("default v1 → default v2");
    expect(rowsMarked(forward.html, "added").sort()).toEqual(["Bea", "Cy"]);
    expect(forward.text).toContain("Bea : 1.000001 sUSD fixed");
    expect(forward.text).toContain("Cy : 2500 bps, cap 1.500000 per payment");
    expect(rowsMarked(forward.html, "removed")).toEqual([]);
    expect(rowsMarked(forward.html, "changed")).toEqual(["Ada:basisPoints"]);
    expect(forward.text).toMatch(/Ada basis points 5000 3333/);
    expect(rowsMarked(forward.html, "term")).toEqual([]);

    const next = await getPage(app.server.url, `/console/policies/diff?from=${v2}&to=${v3}`, w.viewer);
    expect(rowsMarked(next.html, "removed")).toEqual(["Ada"]);
    expect(rowsMarked(next.html, "added")).toEqual([]);
    expect(rowsMarked(next.html, "changed")).toEqual(["Bea:fixedAmount"]);
    expect(next.text).toMatch(/Bea fixed amount 1\.000001 2\.000000/);
    expect(rowsMarked(next.html, "term").sort()).toEqual(["payoutSchedule", "requireVerifiedRecipients"]);
    expect(next.text).toContain("payouts: instant → daily");
    expect(next.text).toContain("1 rule unchanged.");

    const same = await getPage(app.server.url, `/console/policies/diff?from=${v2}&to=${v2}`, w.viewer);
    expect(same.text).toContain("The two versions split payments alike");
    expect((await getPage(app.server.url, `/console/policies/diff?from=${v2}&to=${w.foreignVersion}`, w.viewer)).status).toBe(404);
    expect((await getPage(app.server.url, `/console/policies/diff?from=${v2}&to=nope`, w.viewer)).status).toBe(400);
  });

  it("the preview splits 10.00 USD with the draft exactly, conserving every base unit", async () => {
    // 10.00 USD = 1,000 cents = 10,000,000 sUSD base units (6 decimals). FIXED first: Bea 1,000,001; the
    // percentage base P = 8,999,999. Exact shares: Ada 3333 bps = 2,999,699.6667, Cy 2500 bps = 2,249,999.75;
    // together floor(P * 5833 / 10000) = 5,249,699 units, one more than the floors' sum, which goes to the
    // larger fraction (Cy): Ada 2,999,699, Cy 2,250,000, then capped to 1,500,000 (750,000 back to the
    // treasury). Shares 1,000,001 + 2,999,699 + 1,500,000 = 5,499,700; the treasury keeps
    // 10,000,000 - 5,499,700 = 4,500,300 (3,750,300 unallocated + 750,000 cap excess).
    const page = await getPage(app.server.url, `/console/policies/${v2}?sample=10.00`, w.viewer);
    expect(page.status).toBe(200);
    const lines = Object.fromEntries(
      [...page.html.matchAll(/data-preview-line="([^"]+)"[\s\S]*?data-share="true">([^<]+)<[\s\S]*?data-transfer="true">([^<]+)</g)].map((m) => [m[1], [m[2], m[3]]]),
    );
    // Token amounts are shown exact, without the zeros past the second decimal (1.50 sUSD is 1,500,000 units).
    expect(lines).toEqual({ Ada: ["2.999699 sUSD", "2.999699 sUSD"], Bea: ["1.000001 sUSD", "1.000001 sUSD"], Cy: ["1.50 sUSD", "1.50 sUSD"] });
    expect(page.text).toContain("10.00 USD distributes 10.00 sUSD : 5.4997 sUSD to recipients and 4.5003 sUSD stays in the treasury (to the unit).");
    const units = (text: string) => parseMoney(text.replace(/ sUSD$/, "").replace(/,/g, ""), { scale: 6 });
    const shares = Object.values(lines).reduce((sum, [share]) => sum + units(share!), 0n);
    expect(shares).toBe(5_499_700n);
    expect(shares + units("4.5003 sUSD")).toBe(10_000_000n);
    // The trace of each line is the compiler's own.
    expect(page.text).toContain("rounded up by largest remainder");
  });

  it("error: a sample that is not exact is refused beside its field; another organization's version is not previewed", async () => {
    const bad = await getPage(app.server.url, `/console/policies/${v2}?sample=10.001`, w.viewer);
    expect(bad.status).toBe(200);
    expect(fieldError(bad.html, "sample")).toBe("Use at most 2 decimals.");
    expect(rowsMarked(bad.html, "preview-line")).toEqual([]);
    expect((await getPage(app.server.url, `/console/policies/${w.foreignVersion}?sample=10.00`, w.viewer)).status).toBe(404);
  });
});
