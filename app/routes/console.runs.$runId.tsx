// /console/runs/<id>: one payout run — its transfers, batches (index, items, plan hash, state, signatures
// with explorer links, fee and compute units), its cost in lamports, recipients held out and why, the
// decisions taken on it; for a READY run a simulation of every batch before approval; while it executes,
// its batches live (components/run-progress.tsx). The forms approve, reject, cancel, execute and retry
// through run-actions.server.ts, which scopes every run to the operator's organization.
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation, useRouteLoaderData } from "@remix-run/react";
import { LocalTime } from "~/components/local-time";
import { CsrfInput, FormAlert } from "~/components/console-form";
import { BatchStateCell, RunStatusLine, SignatureLink, useRunProgress } from "~/components/run-progress";
import { RunSimulationPreview, type SimulationView } from "~/components/run-simulation";
import { formatMoney } from "~/ledger/money";
import { requiredApprovals } from "~/models/approvals.server";
import { fieldErrors } from "~/models/operators.server";
import { payoutRunDetail } from "~/models/payout-run-views.server";
import { isRunActionFailure, performRunAction, previewRun, runActionDeps, RunActionSchema, runActionSentence, runActionStatus } from "~/models/run-actions.server";
import type { loader as consoleLoader } from "~/routes/console";
import { approvalPolicy, getSettlementServices } from "~/settlement/executor-runtime.server";
import type { RunSimulation } from "~/settlement/run-simulation.server";
import { getDatabase } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { requireOperator, requireOperatorForm } from "~/utils/session.server";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Payout run ${data?.run.id.slice(0, 8) ?? ""} · StableFlow console` }];

function simulationView(s: RunSimulation): SimulationView {
  const token = (amount: bigint) => formatMoney(amount, s.tokenDecimals);
  return {
    ok: s.ok,
    vaultBalance: s.vault.balance === null ? null : token(s.vault.balance),
    vaultShortBy: s.vaultShortBy > 0n ? token(s.vaultShortBy) : null,
    estimatedLamports: s.estimatedLamports.toString(),
    tokenAccounts: s.setup.tokenAccounts,
    tokenAccountRentLamports: s.setup.tokenAccountRentLamports.toString(),
    tokenAccountFeeLamports: s.setup.tokenAccountFeeLamports.toString(),
    lookupTableAddresses: s.setup.lookupTableAddresses,
    simulatedAt: s.simulatedAt,
    batches: s.batches.map((b) => ({
      ...b,
      total: token(b.total),
      feeLamports: b.feeLamports?.toString() ?? null,
      priorityMicroLamports: undefined,
      splitRecordRentLamports: b.splitRecordRentLamports.toString(),
      heldOut: b.heldOut.map((h) => ({ recipientName: h.recipientName, tokenAccount: h.tokenAccount, amount: token(h.amount), reason: h.reason })),
      tokenAccountsCreated: b.tokenAccountsCreated.map((h) => ({ recipientName: h.recipientName, tokenAccount: h.tokenAccount })),
    })),
  };
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const db = await getDatabase();
  const run = await payoutRunDetail(db, auth.actor.organizationId, params.runId ?? "");
  if (!run) throw new Response("There is no such payout run in your organization.", { status: 404 });
  let simulation: SimulationView | null = null;
  let simulationError: string | null = null;
  if (run.status === "READY") {
    try {
      const principal = { organizationId: auth.actor.organizationId, actor: { type: "OPERATOR" as const, operatorId: auth.operatorId } };
      simulation = simulationView(await previewRun(await runActionDeps(), principal, { runId: run.id }));
    } catch (error) {
      if (!isRunActionFailure(error)) throw error;
      simulationError = runActionSentence(error);
    }
  }
  const token = (amount: bigint) => formatMoney(amount, run.tokenDecimals);
  return {
    me: { role: auth.role, operatorId: auth.operatorId },
    required: requiredApprovals(run.totalTransfers, getSettlementServices()?.policy ?? approvalPolicy(getEnv())),
    simulation,
    simulationError,
    run: {
      ...run,
      distributable: token(run.distributable),
      totalTransfers: token(run.totalTransfers),
      treasuryRemainder: token(run.treasuryRemainder),
      payment: run.payment ? { ...run.payment, totalMinor: formatMoney(run.payment.totalMinor, 2) } : null,
      transfers: run.transfers.map((t) => ({ ...t, amount: token(t.amount) })),
      batches: run.batches.map((b) => ({ ...b, total: token(b.total), feeLamports: b.feeLamports?.toString() ?? null, computeUnits: b.computeUnits?.toString() ?? null })),
      holds: run.holds.map((h) => ({ ...h, amount: token(h.amount) })),
      costs: { totalLamports: run.costs.totalLamports.toString(), byKind: run.costs.byKind.map((c) => ({ kind: c.kind, lamports: c.lamports.toString() })) },
    },
  };
}

type ActionResult = { intent: string; done?: string; message?: string; fieldErrors?: Record<string, string> };

export async function action({ request, context, params }: ActionFunctionArgs) {
  // CSRF, Origin and the session first; a viewer is refused here, before anything is read of the run.
  const auth = await requireOperatorForm(request, context, { role: "OPERATOR" });
  const parsed = RunActionSchema.safeParse(Object.fromEntries(auth.form));
  const intent = String(auth.form.get("intent") ?? "");
  if (!parsed.success) return data<ActionResult>({ intent, fieldErrors: fieldErrors(parsed.error) }, { status: 400 });
  const principal = { organizationId: auth.actor.organizationId, actor: { type: "OPERATOR" as const, operatorId: auth.operatorId } };
  try {
    const done = await performRunAction(await runActionDeps(), principal, { ...parsed.data, runId: params.runId ?? "" });
    return data<ActionResult>({ intent, done });
  } catch (error) {
    if (!isRunActionFailure(error)) throw error;
    const status = runActionStatus(error);
    if (status === 404) throw new Response(runActionSentence(error), { status: 404 });
    return data<ActionResult>({ intent, message: runActionSentence(error) }, { status });
  }
}

function CommentForm({ intent, label, button, csrf, error, required = true, danger = false }: { intent: string; label: string; button: string; csrf: string; error?: string; required?: boolean; danger?: boolean }) {
  const id = `comment-${intent}`;
  const busy = useNavigation().formData?.get("intent") === intent;
  return (
    <Form method="post" className="stack card">
      <CsrfInput token={csrf} />
      <input type="hidden" name="intent" value={intent} />
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <input id={id} name="comment" type="text" maxLength={1000} required={required} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} />
        {error ? (
          <p className="field-error" id={`${id}-error`}>
            {error}
          </p>
        ) : null}
      </div>
      <p>
        <button type="submit" className={danger ? "secondary danger" : undefined} disabled={busy}>
          {button}
        </button>
      </p>
    </Form>
  );
}

export default function PayoutRunPage() {
  const { run, me, required, simulation, simulationError } = useLoaderData<typeof loader>();
  const csrf = useRouteLoaderData<typeof consoleLoader>("routes/console")?.csrf ?? "";
  const result = useActionData<typeof action>();
  const { progress, live } = useRunProgress(run.id, { status: run.status, batches: run.batches });
  const status = progress.status;
  const stateOf = new Map(progress.batches.map((b) => [b.id, b]));
  const approvals = run.decisions.filter((d) => d.decision === "APPROVE").length;
  const rejected = run.decisions.some((d) => d.decision === "REJECT");
  const canAct = me.role !== "VIEWER";
  const errorFor = (intent: string) => (result?.intent === intent ? result.fieldErrors?.comment : undefined);
  return (
    <>
      <p>
        <Link to="/console/runs">All payout runs</Link>
      </p>
      <h1>Payout run {run.id.slice(0, 8)}</h1>
      <RunStatusLine status={status} live={live} />
      <p className="muted">
        {run.kind.toLowerCase()} run of <code>{run.id}</code>
        {run.payment ? (
          <>
            {" "}for payment <code>{run.payment.label}</code> ({run.payment.totalMinor} {run.payment.currency})
          </>
        ) : null}
        . Distributable {run.distributable}, transferred {run.totalTransfers}, treasury keeps {run.treasuryRemainder}. Run cost {BigInt(run.costs.totalLamports).toLocaleString("en-US")} lamports.
      </p>
      {run.holdReason ? <p className="card bad">Held: {run.holdReason}</p> : null}
      {run.cancelReason ? <p className="card bad">Cancelled: {run.cancelReason}</p> : null}
      <FormAlert message={result?.message} />
      {result?.done ? (
        <p className="card ok" role="status">
          {result.done}
        </p>
      ) : null}
      {!canAct ? (
        <p className="banner" role="status">
          You are a viewer: you see this run, and operators or admins decide on it.
        </p>
      ) : null}

      {status === "READY" ? (
        <>
          <p>
            Approvals: <strong data-approvals={approvals}>{approvals}</strong> of {required} needed
            {required > 1 ? " (at or above the approval threshold: two different operators)" : ""}
            {rejected ? <span className="bad"> — rejected: it can only be cancelled</span> : null}.
          </p>
          <RunSimulationPreview simulation={simulation} error={simulationError} />
          {canAct ? (
            <div className="grid">
              {!rejected ? <CommentForm intent="approve" label="Approval comment" button="Approve run" csrf={csrf} error={errorFor("approve")} required={false} /> : null}
              {!rejected ? <CommentForm intent="reject" label="Why reject it" button="Reject run" csrf={csrf} error={errorFor("reject")} danger /> : null}
              <CommentForm intent="cancel" label="Why cancel it" button="Cancel run" csrf={csrf} error={errorFor("cancel")} danger />
            </div>
          ) : null}
        </>
      ) : null}
      {canAct && (status === "PARTIAL" || status === "FAILED") ? (
        <div className="grid">
          <CommentForm intent="retry" label="Retry note" button="Retry the failed batches" csrf={csrf} error={errorFor("retry")} required={false} />
          {status === "FAILED" ? <CommentForm intent="cancel" label="Why cancel it" button="Cancel run" csrf={csrf} error={errorFor("cancel")} danger /> : null}
        </div>
      ) : null}
      {canAct && status === "APPROVED" ? (
        <CommentForm intent="execute" label="Note" button="Send to the executors again" csrf={csrf} error={errorFor("execute")} required={false} />
      ) : null}

      <h2 id="batches-heading">Batches</h2>
      {run.batches.length === 0 ? (
        <p className="muted">No batch yet: the plan is written when the run is approved.</p>
      ) : (
        <div className="scroll">
          <table aria-labelledby="batches-heading">
            <thead>
              <tr>
                <th scope="col">Batch</th><th scope="col">State</th><th scope="col">Shape</th><th scope="col" className="num">Items</th><th scope="col" className="num">Total</th>
                <th scope="col">Plan hash</th><th scope="col">Signatures</th><th scope="col" className="num">Fee (lamports)</th><th scope="col" className="num">Compute units</th>
              </tr>
            </thead>
            <tbody>
              {run.batches.map((b) => {
                const live = stateOf.get(b.id) ?? b;
                return (
                  <tr key={b.id} data-batch={b.index}>
                    <td>#{b.index}{b.supersedesIndex !== null ? <span className="muted"> (replaces #{b.supersedesIndex})</span> : null}</td>
                    <BatchStateCell batch={live} />
                    <td>{b.version === "V0" ? "v0" : "legacy"}</td>
                    <td className="num">{b.recipients}</td>
                    <td className="num">{b.total}</td>
                    <td><code title={b.planHash}>{b.planHash.slice(0, 12)}…</code></td>
                    <td>
                      {b.signatures.length === 0 && !live.signature ? <SignatureLink signature={null} /> : null}
                      {(b.signatures.length > 0 ? b.signatures : live.signature ? [{ signature: live.signature, status: live.state }] : []).map((s) => (
                        <div key={s.signature}>
                          <SignatureLink signature={s.signature} /> <span className="muted">{s.status.toLowerCase()}</span>
                        </div>
                      ))}
                    </td>
                    <td className="num">{b.feeLamports ?? "—"}</td>
                    <td className="num">{b.computeUnits ?? "—"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {status === "APPROVED" || status === "EXECUTING" ? (
        <noscript>
          <p className="muted">Without JavaScript this page does not update by itself: reload it to see the batches' latest state.</p>
        </noscript>
      ) : null}

      <h2 id="transfers-heading">Transfers</h2>
      <div className="scroll">
        <table aria-labelledby="transfers-heading">
          <thead>
            <tr><th scope="col">Recipient</th><th scope="col">Token account</th><th scope="col" className="num">Amount</th><th scope="col">Batch</th></tr>
          </thead>
          <tbody>
            {run.transfers.map((t) => (
              <tr key={t.id} data-transfer={t.id}>
                <td>{t.recipientName}</td>
                <td><Link to={`/explorer/account/${t.tokenAccount}`}><code>{t.tokenAccount}</code></Link></td>
                <td className="num">{t.amount}</td>
                <td>{t.heldReason ? <span className="bad">held out</span> : t.batchIndex === null ? <span className="muted">not planned yet</span> : `#${t.batchIndex}`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {run.holds.length > 0 ? (
        <>
          <h2 id="holds-heading">Held out</h2>
          <p className="muted">Their amounts went back to the recipients' balances (nothing lost); a later run pays them once they can receive.</p>
          <div className="scroll">
            <table aria-labelledby="holds-heading">
              <thead>
                <tr><th scope="col">Recipient</th><th scope="col" className="num">Amount</th><th scope="col">From batch</th><th scope="col">Why</th></tr>
              </thead>
              <tbody>
                {run.holds.map((h) => (
                  <tr key={`${h.tokenAccount}-${h.batchIndex}`}><td>{h.recipientName}</td><td className="num">{h.amount}</td><td>#{h.batchIndex}</td><td>{h.reason}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}

      <h2 id="costs-heading">Cost</h2>
      {run.costs.byKind.length === 0 ? (
        <p className="muted">Nothing spent on chain yet.</p>
      ) : (
        <ul aria-labelledby="costs-heading">
          {run.costs.byKind.map((c) => (
            <li key={c.kind}>{c.kind.toLowerCase().replaceAll("_", " ")}: {BigInt(c.lamports).toLocaleString("en-US")} lamports</li>
          ))}
          <li><strong>total: <span data-run-cost={run.costs.totalLamports}>{BigInt(run.costs.totalLamports).toLocaleString("en-US")}</span> lamports</strong></li>
        </ul>
      )}

      <h2 id="decisions-heading">Decisions</h2>
      {run.decisions.length === 0 ? (
        <p className="muted">Nobody has decided on this run yet.</p>
      ) : (
        <ul aria-labelledby="decisions-heading">
          {run.decisions.map((d, i) => (
            <li key={i} data-decision={d.decision}>
              <LocalTime value={d.at} /> — {d.operator} {d.decision === "APPROVE" ? "approved" : "rejected"}
              {d.comment ? `: “${d.comment}”` : ""}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
