// The payout-run pages on the real server over a settlement world (embedded chain, executors in this
// process): every mutating action refused for anonymous, a viewer, an operator of another organization and
// a missing or wrong CSRF token, with nothing changed; the two-operator rule from the threshold on (one
// approval is not enough, the same operator twice is not two); domain errors as sentences; and the live
// progress stream, whose events show the batches move from planned to settled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPausedInstruction } from "~/settlement/program";
import { sql } from "~/utils/sql.server";
import { useTestChain } from "../setup/chain";
import { databaseTargets } from "../setup/databases";
import { createTestOrganization, csrfPair, postForm, signedInOperator, type SignedInOperator } from "../setup/operators";
import { createSettlementWorld, serveSettlementWorld, type ServedSettlement, type SettlementWorld, type TestRecipient } from "../setup/settlement";

delete process.env.STABLEFLOW_PUBLIC_URL;
const THRESHOLD = 5_000_000n;
const chain = useTestChain({ slotMs: 40 });

interface ProgressEvent {
  status: string;
  batches: { index: number; state: string; signature: string | null }[];
}

/** Reads the run's event stream until it ends (the run left APPROVED/EXECUTING) or `timeoutMs` passes. */
async function readProgress(url: string, cookie: string, timeoutMs = 180_000): Promise<{ status: number; type: string | null; events: ProgressEvent[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const response = await fetch(url, { headers: { cookie }, redirect: "manual", signal: controller.signal });
  const events: ProgressEvent[] = [];
  if (response.ok && response.body) {
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf("\n\n")) !== -1) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (!block.startsWith("event: progress")) continue;
          const data = block.split("\n").find((line) => line.startsWith("data: "));
          if (data) events.push(JSON.parse(data.slice(6)) as ProgressEvent);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  }
  clearTimeout(timer);
  return { status: response.status, type: response.headers.get("content-type"), events };
}

describe.each(databaseTargets())("payout run pages on $name", (target) => {
  let world: SettlementWorld;
  let served: ServedSettlement;
  let recipients: TestRecipient[];
  const people = {} as Record<"admin" | "operator" | "viewer" | "otherOrgAdmin", SignedInOperator>;

  beforeAll(async () => {
    world = await createSettlementWorld({ target, chain: chain.current, funding: 1_000_000_000n });
    served = await serveSettlementWorld(world, { policy: { twoOperatorsFrom: THRESHOLD } });
    const prisma = world.db.prisma;
    people.admin = await signedInOperator(prisma, { organizationId: world.organizationId, role: "ADMIN", name: "Ada Admin" });
    people.operator = await signedInOperator(prisma, { organizationId: world.organizationId, role: "OPERATOR", name: "Otto Operator" });
    people.viewer = await signedInOperator(prisma, { organizationId: world.organizationId, role: "VIEWER" });
    const other = await createTestOrganization(prisma, "Other org");
    people.otherOrgAdmin = await signedInOperator(prisma, { organizationId: other.id, role: "ADMIN" });
    recipients = await world.addRecipients(3, { withTokenAccounts: true });
  }, 240_000);
  afterAll(async () => {
    await served?.close();
    await world?.destroy();
  });

  const post = (runId: string, who: SignedInOperator | null, fields: Record<string, string>, csrf?: { cookie: string; csrf: string }) => {
    const pair = csrf ?? (who ? { cookie: who.cookie, csrf: who.csrf } : csrfPair());
    return postForm(served.server.url, `/console/runs/${runId}`, { csrf: pair.csrf, ...fields }, { cookie: pair.cookie });
  };

  async function snapshot(runId: string) {
    const [row] = await world.db.query<{ status: string; decisions: number; batches: number; audit: number }>(sql`
      SELECT r.status::text AS status,
             (SELECT count(*) FROM payout_approvals a WHERE a.run_id = r.id)::int AS decisions,
             (SELECT count(*) FROM split_batches b WHERE b.run_id = r.id)::int AS batches,
             (SELECT count(*) FROM audit_log)::int AS audit
      FROM payout_runs r WHERE r.id = ${runId}::uuid`);
    return row!;
  }

  const intents = [
    { intent: "approve", comment: "looks right" },
    { intent: "reject", comment: "wrong" },
    { intent: "cancel", comment: "not wanted" },
    { intent: "execute", comment: "" },
    { intent: "retry", comment: "" },
  ];
  const refusals = ["anonymous", "viewer", "otherOrgAdmin", "missing CSRF", "wrong CSRF"] as const;
  const matrix = intents.flatMap((i) => refusals.map((who) => ({ ...i, who })));

  it.each(matrix)("error: POST /console/runs/<id> intent=$intent refused for $who, nothing changed", async ({ intent, comment, who }) => {
    const runId = await world.createRun([{ recipient: recipients[0]!, amount: 1_000_000n }]);
    const before = await snapshot(runId);
    const fields = { intent, comment };
    const response =
      who === "anonymous"
        ? await post(runId, null, fields)
        : who === "missing CSRF"
          ? await postForm(served.server.url, `/console/runs/${runId}`, fields, { cookie: people.operator.cookie })
          : who === "wrong CSRF"
            ? await post(runId, people.operator, fields, { cookie: people.operator.cookie, csrf: csrfPair().csrf })
            : await post(runId, people[who], fields);
    const expected = { anonymous: 302, viewer: 403, otherOrgAdmin: 404, "missing CSRF": 403, "wrong CSRF": 403 }[who];
    expect(response.status).toBe(expected);
    if (who === "anonymous") expect(response.headers.get("location")).toMatch(/^\/login\?next=/);
    expect(await snapshot(runId)).toEqual(before);
    // The same request from an operator of the organization does get through to the run (a refusal above was the check at work).
    if (intent === "approve") {
      const allowed = await post(runId, people.operator, fields);
      expect(allowed.status).toBe(200);
      expect((await snapshot(runId)).status).toBe("APPROVED");
    }
  });

  it("pages: the list and the detail for the organization, 404 for another's, no decision form for a viewer", async () => {
    const runId = await world.createRun([{ recipient: recipients[1]!, amount: 2_000_000n }]);
    const get = (path: string, who: SignedInOperator) => fetch(`${served.server.url}${path}`, { headers: { cookie: who.cookie }, redirect: "manual" });
    const list = await get("/console/runs?status=READY", people.viewer);
    expect(list.status).toBe(200);
    expect(await list.text()).toContain(`data-run="${runId}"`);
    const detail = await (await get(`/console/runs/${runId}`, people.viewer)).text();
    expect(detail).toContain("Simulation before approval");
    expect(detail).toContain('data-simulation-ok="true"');
    expect(detail).not.toContain("Approve run");
    expect(await (await get(`/console/runs/${runId}`, people.operator)).text()).toContain("Approve run");
    expect((await get(`/console/runs/${runId}`, people.otherOrgAdmin)).status).toBe(404);
    expect((await get(`/console/runs/${runId}/events`, people.otherOrgAdmin)).status).toBe(404);
    expect(await (await get("/console/runs", people.otherOrgAdmin)).text()).not.toContain(runId);
  });

  it("error: a comment is required to reject; a run larger than the vault is refused with a sentence; a decided run is not approvable", async () => {
    const runId = await world.createRun([{ recipient: recipients[0]!, amount: 3_000_000n }]);
    const noComment = await post(runId, people.operator, { intent: "reject", comment: "" });
    expect(noComment.status).toBe(400);
    expect(await noComment.text()).toContain("Say why you reject this run");
    const vault = await world.vaultBalance();
    const tooBig = await world.createRun([{ recipient: recipients[0]!, amount: vault + 1n }]);
    const refused = await post(tooBig, people.admin, { intent: "approve", comment: "" });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain(`Insufficient vault balance: the vault holds ${vault} base units and the run transfers ${vault + 1n}; deposit at least 1 more before approving.`);
    expect(await snapshot(tooBig)).toMatchObject({ status: "READY", decisions: 0 });
    // Rejected, then cancelled: audited with the comments, and no longer approvable.
    expect((await post(runId, people.operator, { intent: "reject", comment: "wrong recipient" })).status).toBe(200);
    const approveRejected = await post(runId, people.admin, { intent: "approve", comment: "" });
    expect(approveRejected.status).toBe(409);
    expect(await approveRejected.text()).toContain("The run was rejected (&quot;wrong recipient&quot;); it cannot be approved, only cancelled.");
    expect((await post(runId, people.admin, { intent: "cancel", comment: "rejected by Otto" })).status).toBe(200);
    expect(await world.db.prisma.payoutRun.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: "CANCELLED", cancelReason: "rejected by Otto" });
    const audit = await world.db.prisma.auditLog.findMany({ where: { entityId: runId }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actorId])).toEqual([
      ["payout_run.rejected", people.operator.id],
      ["payout_run.cancelled", people.admin.id],
    ]);
    const again = await post(runId, people.admin, { intent: "approve", comment: "" });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("The run is CANCELLED; only a READY run can be approved.");
  });

  it("two operators from the threshold on; the same one twice is not two; then the live stream shows its batches settle", async () => {
    const runId = await world.createRun(recipients.map((recipient, i) => ({ recipient, amount: THRESHOLD + BigInt(i) })));
    const first = await post(runId, people.operator, { intent: "approve", comment: "checked the amounts" });
    expect(first.status).toBe(200);
    expect(await first.text()).toContain("Approval recorded (1 of 2): a second, different operator must approve it too.");
    const twice = await post(runId, people.operator, { intent: "approve", comment: "me again" });
    expect(twice.status).toBe(409);
    expect(await twice.text()).toContain("This operator already decided on this run; a second approval must come from another operator.");
    expect(await snapshot(runId)).toMatchObject({ status: "READY", decisions: 1, batches: 0 });

    // The second approval plans and enqueues it; no executor runs yet, so the stream sees it from the start.
    const second = await post(runId, people.admin, { intent: "approve", comment: "agreed" });
    expect(second.status).toBe(200);
    expect(await snapshot(runId)).toMatchObject({ status: "APPROVED", decisions: 2, batches: 1 });
    const stream = readProgress(`${served.server.url}/console/runs/${runId}/events`, people.viewer.cookie);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await served.startExecutors();
    const { status, type, events } = await stream;
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/event-stream/);
    expect(events[0]).toMatchObject({ status: "APPROVED", batches: [{ index: 0, state: "planned", signature: null }] });
    const last = events.at(-1)!;
    expect(last.status).toBe("SETTLED");
    expect(last.batches).toMatchObject([{ index: 0, state: "settled" }]);
    expect(last.batches[0]!.signature).toMatch(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/);
    // Every change was an event of its own, in order: never the same state twice in a row.
    const states = events.map((e) => `${e.status}/${e.batches.map((b) => b.state).join(",")}`);
    expect(states.length).toBeGreaterThanOrEqual(2);
    states.slice(1).forEach((s, i) => expect(s).not.toBe(states[i]));

    // The settled page: the signature links to the explorer, fee and compute units, the run's cost.
    const page = await (await fetch(`${served.server.url}/console/runs/${runId}`, { headers: { cookie: people.viewer.cookie } })).text();
    expect(page).toContain(`href="/explorer/tx/${last.batches[0]!.signature}"`);
    const [cost] = await world.db.query<{ total: string }>(sql`SELECT sum(lamports)::text AS total FROM payout_run_costs WHERE run_id = ${runId}::uuid`);
    expect(BigInt(cost!.total)).toBeGreaterThan(0n);
    expect(page).toContain(`data-run-cost="${cost!.total}"`);
    // A settled run's stream says so once and ends.
    const after = await readProgress(`${served.server.url}/console/runs/${runId}/events`, people.viewer.cookie, 30_000);
    expect(after.events.map((e) => e.status)).toEqual(["SETTLED"]);
  }, 300_000);

  it("a paused treasury: the preview says why, the runs fail; one is retried from the console and settles, the other cancelled", async () => {
    const pause = (paused: boolean) =>
      world.client.sendInstructions([setPausedInstruction({ authority: world.authority.publicKey, treasury: world.identity.treasury, paused })], world.authority);
    const retried = await world.createRun([{ recipient: recipients[2]!, amount: 1_500_000n }]);
    const dropped = await world.createRun([{ recipient: recipients[1]!, amount: 1_600_000n }]);
    await pause(true);
    try {
      const preview = await (await fetch(`${served.server.url}/console/runs/${retried}`, { headers: { cookie: people.operator.cookie } })).text();
      expect(preview).toContain('data-simulation-ok="false"');
      expect(preview).toContain("TreasuryPaused");
      // Executors run since the test before: both fail with the program's reason.
      for (const runId of [retried, dropped]) {
        expect((await post(runId, people.operator, { intent: "approve", comment: "" })).status).toBe(200);
        expect(await world.waitForRun(runId, ["SETTLED", "PARTIAL", "FAILED"], 180_000)).toBe("FAILED");
      }
      const failedPage = await (await fetch(`${served.server.url}/console/runs/${retried}`, { headers: { cookie: people.operator.cookie } })).text();
      expect(failedPage).toContain("Retry the failed batches");
      expect(failedPage).toMatch(/data-batch-state="failed">failed<span class="bad"> — (<!-- -->)?not sent: TreasuryPaused: The treasury is paused/);
    } finally {
      await pause(false);
    }
    expect((await post(retried, people.viewer, { intent: "retry", comment: "" })).status).toBe(403);
    const retry = await post(retried, people.operator, { intent: "retry", comment: "" });
    expect(retry.status).toBe(200);
    expect(await retry.text()).toContain("Retrying 1 failed batch.");
    expect(await world.waitForRun(retried, ["SETTLED", "PARTIAL", "FAILED"], 180_000)).toBe("SETTLED");
    // A retry of a settled run is a sentence, not a change.
    const again = await post(retried, people.operator, { intent: "retry", comment: "" });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("A SETTLED run cannot be retried; only PARTIAL or FAILED runs can.");

    expect((await post(dropped, people.admin, { intent: "cancel", comment: "paid by hand instead" })).status).toBe(200);
    expect(await world.db.prisma.payoutRun.findUniqueOrThrow({ where: { id: dropped } })).toMatchObject({ status: "CANCELLED", cancelReason: "paid by hand instead" });
  }, 400_000);
});
