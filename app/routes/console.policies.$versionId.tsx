// /console/policies/:versionId: one policy version — its terms and rules; a preview of how it splits a
// sample payment (a GET form: the ledger's compiler on these rules and the recipients' present state);
// for operators, activating a draft and editing, which saves a new draft version. Another organization's
// version is a 404 for reading and changing alike; a stale edit or activation is refused with a sentence.
import { data, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData, useSearchParams } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput, Field, FormAlert } from "~/components/console-form";
import { echoedValues, PolicyEditor } from "~/components/policy-editor";
import { PolicyError } from "~/ledger/policy";
import { listRuleRecipients, loadPolicyVersion, policyVersionView, previewPolicySplit } from "~/models/console-policies.server";
import { issuesByField } from "~/models/input-errors";
import { roleAtLeast } from "~/models/operators.server";
import { activatePolicyVersion } from "~/models/policies.server";
import { policyPreviewSchema } from "~/models/policy-input";
import type { loader as consoleLoader } from "~/routes/console";
import pageStyles from "~/styles/console-pages.css?url";
import { notInOrganization, policyFailure, sentence, type FormActionResult } from "~/utils/console-errors.server";
import { getDatabase } from "~/utils/db.server";
import { savePolicyFromForm } from "~/utils/policy-form.server";
import { requireOperator, requireOperatorForm } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: pageStyles }];
export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data ? `${data.version.policyName} v${data.version.version}` : "Policy"} · StableFlow console` }];

const isUuid = (value: string | undefined) => z.uuid().safeParse(value).success;
/** Sample payments are in USD, the one settlement currency payouts are made from. */
const SAMPLE_CURRENCY_SCALE = 2;

type Preview = { error: string } | { result: NonNullable<Awaited<ReturnType<typeof previewPolicySplit>>> };

async function runPreview(organizationId: string, versionId: string, sample: string | null): Promise<Preview | null> {
  if (sample === null) return null;
  const parsed = policyPreviewSchema(SAMPLE_CURRENCY_SCALE).safeParse({ versionId, sampleAmount: sample });
  if (!parsed.success) return { error: issuesByField(parsed.error).sampleAmount ?? "Enter a sample amount." };
  try {
    const result = await previewPolicySplit(await getDatabase(), organizationId, versionId, parsed.data.sampleAmount!);
    return result ? { result } : null;
  } catch (error) {
    if (error instanceof PolicyError) return { error: `This version cannot split a payment now: ${sentence(error.message)}` };
    throw error;
  }
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const db = await getDatabase();
  const version = isUuid(params.versionId) ? await loadPolicyVersion(db.prisma, auth.actor.organizationId, params.versionId!) : null;
  if (!version) throw new Response("Your organization has no such policy version. Find it in the list of policies.", { status: 404 });
  const sample = new URL(request.url).searchParams.get("sample");
  const canChange = roleAtLeast(auth.role, "OPERATOR");
  return {
    canChange,
    version: policyVersionView(version),
    recipients: canChange ? await listRuleRecipients(db.prisma, auth.actor.organizationId) : [],
    sample: sample ?? "",
    preview: await runPreview(auth.actor.organizationId, version.id, sample),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const auth = await requireOperatorForm(request, context, { role: "OPERATOR" });
  if (!isUuid(params.versionId)) throw notInOrganization("policy version");
  const intent = String(auth.form.get("intent") ?? "");
  if (intent === "save") {
    // The edit is saved only if this version is the organization's (the new version names its policy).
    const db = await getDatabase();
    if (!(await loadPolicyVersion(db.prisma, auth.actor.organizationId, params.versionId!))) throw notInOrganization("policy version");
    return savePolicyFromForm(auth.actor, auth.form);
  }
  if (intent === "activate") {
    try {
      const db = await getDatabase();
      const active = await activatePolicyVersion(db.prisma, { organizationId: auth.actor.organizationId, versionId: params.versionId!, actorId: auth.actor.operatorId });
      return data<FormActionResult>({ intent, done: `Version ${active.version} is active: new payments are split by it.` });
    } catch (error) {
      return policyFailure(error, { intent });
    }
  }
  return data<FormActionResult>({ intent, message: "Unknown action." }, { status: 400 });
}

const words = (text: string) => text.toLowerCase().replace(/_/g, " ");

export default function PolicyVersionPage() {
  const { version: v, recipients, canChange, preview, sample } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [search] = useSearchParams();
  const csrf = useRouteLoaderData<typeof consoleLoader>("routes/console")?.csrf ?? "";
  const save = result?.intent === "save" ? (result as Extract<typeof result, { values?: unknown }>) : undefined;
  const saveValues = save && "values" in save && save.values && typeof save.values === "object" && "rules" in save.values ? echoedValues(save.values as Parameters<typeof echoedValues>[0]) : undefined;
  return (
    <>
      <p>
        <Link to="/console/policies">← Policies</Link>
      </p>
      <h1>
        {v.policyName} v{v.version} <span className="muted">({words(v.status)})</span>
      </h1>
      {search.get("saved") && !result ? (
        <p className="card ok" role="status">
          Saved as draft version {v.version}. Preview its split below, then activate it.
        </p>
      ) : null}
      {result?.intent === "activate" && result.done ? (
        <p className="card ok" role="status">
          {result.done}
        </p>
      ) : null}
      {result?.intent === "activate" ? <FormAlert message={result.message} /> : null}
      {v.latestVersion > v.version ? (
        <p className="banner" role="status">
          Version {v.latestVersion} of this policy is newer. <Link to="/console/policies">See the versions</Link>.
        </p>
      ) : null}
      <dl className="facts">
        <dt>Payouts</dt>
        <dd>{words(v.payoutSchedule)}</dd>
        <dt>Unverified wallets</dt>
        <dd>{v.requireVerifiedRecipients ? "their shares accrue until verified" : "paid like any other"}</dd>
        <dt>Locked</dt>
        <dd>{v.locked ? "yes: a payout run used it, so it never changes" : "no run has used it yet"}</dd>
      </dl>

      <h2 id="rules-heading">Rules</h2>
      <div className="scroll">
        <table aria-labelledby="rules-heading">
          <thead>
            <tr>
              <th scope="col">Recipient</th>
              <th scope="col">Share</th>
              <th scope="col" className="num">Cap / payment</th>
              <th scope="col" className="num">Cap / period</th>
              <th scope="col" className="num">Minimum payout</th>
              <th scope="col" className="num">Priority</th>
            </tr>
          </thead>
          <tbody>
            {v.rules.map((r) => (
              <tr key={r.recipientId} data-rule={r.recipient}>
                <td>
                  <Link to={`/console/recipients/${r.recipientId}`}>{r.recipient}</Link>
                </td>
                <td>{r.kind === "PERCENTAGE" ? `${r.basisPoints} bps` : `${r.fixedAmount} sUSD fixed`}</td>
                <td className="num">{r.capPerPayment ?? "—"}</td>
                <td className="num">{r.capPerPeriod ? `${r.capPerPeriod} / ${r.periodDays} d` : "—"}</td>
                <td className="num">{r.minPayout ?? "—"}</td>
                <td className="num">{r.kind === "FIXED" ? r.priority : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <section aria-labelledby="preview-heading">
        <h2 id="preview-heading">Preview a split</h2>
        <Form method="get" className="card filters" aria-label="Preview how this version splits a payment">
          <Field
            name="sample"
            label="Sample payment (USD)"
            inputMode="decimal"
            defaultValue={sample}
            error={preview && "error" in preview ? preview.error : undefined}
            hint="Settled in full, no fees: the compiler splits it as it would a real payment now."
          />
          <div className="filters-actions">
            <button type="submit" className="secondary">
              Preview
            </button>
          </div>
        </Form>
        {preview && "result" in preview ? (
          <div data-testid="preview">
            <p>
              {preview.result.sample} distributes <strong data-testid="preview-distributable">{preview.result.distributable}</strong>:
              {" "}<span data-testid="preview-shares">{preview.result.shares}</span> to recipients and{" "}
              <span data-testid="preview-remainder">{preview.result.remainder}</span> stays in the treasury
              {preview.result.conserved ? " (to the unit)." : "."}
            </p>
            <div className="scroll">
              <table aria-label="Preview of the split">
                <thead>
                  <tr><th scope="col">Recipient</th><th scope="col" className="num">Share</th><th scope="col" className="num">Transfer</th><th scope="col">Outcome</th><th scope="col">How</th></tr>
                </thead>
                <tbody>
                  {preview.result.lines.map((line) => (
                    <tr key={line.recipientId} data-preview-line={line.recipient}>
                      <td>{line.recipient}</td>
                      <td className="num" data-share>{line.share}</td>
                      <td className="num" data-transfer>{line.transfer}</td>
                      <td>{line.outcome === "HELD" ? `held: ${words(line.holdReason ?? "")}` : words(line.outcome)}</td>
                      <td>
                        <ol className="steps">
                          {line.steps.map((step, i) => (
                            <li key={i}>{step}</li>
                          ))}
                        </ol>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        ) : null}
      </section>

      {canChange && v.status === "DRAFT" ? (
        <section aria-labelledby="activate-heading">
          <h2 id="activate-heading">Activate</h2>
          <Form method="post" className="card">
            <CsrfInput token={csrf} />
            <input type="hidden" name="intent" value="activate" />
            <p>New payments are split by the active version; the version active now is retired. Payments held for want of a policy are asked again.</p>
            <button type="submit">Activate version {v.version}</button>
          </Form>
        </section>
      ) : null}

      {canChange ? (
        <section aria-labelledby="edit-heading">
          <h2 id="edit-heading">Edit as a new version</h2>
          <PolicyEditor
            csrf={csrf}
            basedOnVersion={v.latestVersion}
            nameEditable={false}
            tokenSymbol="sUSD"
            recipients={recipients}
            values={
              saveValues ?? {
                policyName: v.policyName,
                payoutSchedule: v.payoutSchedule,
                requireVerifiedRecipients: v.requireVerifiedRecipients,
                rules: v.rules.map((r) => ({
                  recipientId: r.recipientId,
                  kind: r.kind,
                  basisPoints: r.basisPoints?.toString() ?? "",
                  fixedAmount: r.fixedAmount ?? "",
                  capPerPayment: r.capPerPayment ?? "",
                  capPerPeriod: r.capPerPeriod ?? "",
                  periodDays: r.periodDays?.toString() ?? "",
                  minPayout: r.minPayout ?? "",
                  priority: r.kind === "FIXED" ? String(r.priority) : "",
                })),
              }
            }
            errors={save?.fieldErrors}
            message={save?.message}
          />
        </section>
      ) : (
        <p className="banner" role="status">
          You are a viewer: you see the policies, and operators edit and activate them.
        </p>
      )}
    </>
  );
}
