// /console/recipients/:recipientId: one recipient — wallet verification, token-account readiness on chain
// (exists, payout mint, not frozen), balances, the policy versions that name it; operators edit it and
// pause or resume it. Another organization's recipient is a 404, for reading and for changing alike.
import { data, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData, useSearchParams } from "@remix-run/react";
import { z } from "zod";
import { CsrfInput, FormAlert } from "~/components/console-form";
import { LocalTime } from "~/components/local-time";
import { RecipientFields } from "~/components/recipient-fields";
import { loadRecipient } from "~/models/console-recipients.server";
import { issuesByField } from "~/models/input-errors";
import { roleAtLeast } from "~/models/operators.server";
import { setRecipientStatusAsOperator, updateRecipientAsOperator } from "~/models/recipient-changes.server";
import { RecipientStatusSchema, RecipientUpdateSchema } from "~/models/recipient-input";
import type { loader as consoleLoader } from "~/routes/console";
import { payoutMint, readTokenAccountReadiness } from "~/settlement/recipient-accounts.server";
import pageStyles from "~/styles/console-pages.css?url";
import { notInOrganization, recipientFailure, type FormActionResult } from "~/utils/console-errors.server";
import { getDatabase, getPrisma } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { requireOperator, requireOperatorForm } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: pageStyles }];
export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.recipient.name ?? "Recipient"} · StableFlow console` }];

const isUuid = (value: string | undefined) => z.uuid().safeParse(value).success;

export async function loader({ request, params }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const recipient = isUuid(params.recipientId) ? await loadRecipient(await getDatabase(), auth.actor.organizationId, params.recipientId!) : null;
  if (!recipient) throw new Response("Your organization has no such recipient. Find it in the list of recipients.", { status: 404 });
  const readiness = await readTokenAccountReadiness(getEnv(), [recipient.tokenAccount]);
  const verdict = readiness.available ? readiness.accounts.get(recipient.tokenAccount)! : null;
  return {
    canChange: roleAtLeast(auth.role, "OPERATOR"),
    recipient,
    chain: readiness.available
      ? { available: true as const, mint: readiness.mint, ready: verdict!.ready, exists: verdict!.exists, reason: verdict!.ready ? null : verdict!.sentence }
      : { available: false as const, sentence: readiness.sentence },
  };
}

const FIELDS = ["name", "walletAddress", "walletKind", "tokenAccount"] as const;

export async function action({ request, context, params }: ActionFunctionArgs) {
  const auth = await requireOperatorForm(request, context, { role: "OPERATOR" });
  if (!isUuid(params.recipientId)) throw notInOrganization("recipient");
  const recipientId = params.recipientId!;
  const intent = String(auth.form.get("intent") ?? "");
  const prisma = await getPrisma();
  if (intent === "update") {
    const values = Object.fromEntries(FIELDS.map((k) => [k, String(auth.form.get(k) ?? "")]));
    const parsed = RecipientUpdateSchema.safeParse(values);
    if (!parsed.success) return data<FormActionResult>({ intent, values, fieldErrors: issuesByField(parsed.error) }, { status: 400 });
    try {
      const updated = await updateRecipientAsOperator(prisma, auth.actor, recipientId, parsed.data, await payoutMint(getEnv()));
      return data<FormActionResult>({ intent, done: updated.walletVerifiedAt ? "Recipient saved." : "Recipient saved. Its wallet is not verified." });
    } catch (error) {
      return recipientFailure(error, { intent, values });
    }
  }
  if (intent === "set-status") {
    const parsed = RecipientStatusSchema.safeParse({ status: auth.form.get("status") });
    if (!parsed.success) return data<FormActionResult>({ intent, message: issuesByField(parsed.error).status }, { status: 400 });
    try {
      const updated = await setRecipientStatusAsOperator(prisma, auth.actor, recipientId, parsed.data);
      return data<FormActionResult>({ intent, done: updated.status === "PAUSED" ? "Recipient paused: its shares accrue until it is resumed." : "Recipient active: it is paid again." });
    } catch (error) {
      return recipientFailure(error, { intent });
    }
  }
  return data<FormActionResult>({ intent, message: "Unknown action." }, { status: 400 });
}

const words = (text: string) => text.toLowerCase().replace(/_/g, " ");

export default function RecipientPage() {
  const { recipient: r, chain, canChange } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [search] = useSearchParams();
  const csrf = useRouteLoaderData<typeof consoleLoader>("routes/console")?.csrf ?? "";
  const edit = result?.intent === "update" ? result : undefined;
  return (
    <>
      <p>
        <Link to="/console/recipients">← Recipients</Link>
      </p>
      <h1>{r.name}</h1>
      {search.get("created") && !result ? (
        <p className="card ok" role="status">
          Recipient added.
        </p>
      ) : null}
      {result?.done ? (
        <p className="card ok" role="status">
          {result.done}
        </p>
      ) : null}
      {result?.intent === "set-status" ? <FormAlert message={result.message} /> : null}
      <dl className="facts">
        <dt>Status</dt>
        <dd data-testid="status">{words(r.status)}</dd>
        <dt>Wallet</dt>
        <dd>
          <code>{r.walletAddress}</code> ({r.walletKind === "PDA_OWNER" ? "PDA owner" : "ed25519 wallet"})
        </dd>
        <dt>Wallet verified</dt>
        <dd data-testid="verified">
          {r.walletVerifiedAt
            ? <>yes, <LocalTime value={r.walletVerifiedAt} /></>
            : r.walletKind === "PDA_OWNER"
              ? "no: a PDA cannot sign a challenge (a policy that requires verified wallets holds its shares)"
              : "no: the wallet's holder has not signed a challenge yet"}
        </dd>
        <dt>Token account</dt>
        <dd>
          <code>{r.tokenAccount}</code> {r.tokenAccountDerived ? "(the wallet's associated token account)" : "(entered by an operator)"}
        </dd>
        <dt>On chain</dt>
        <dd data-testid="readiness">
          {!chain.available ? (
            <span className="warn">{chain.sentence}</span>
          ) : chain.ready ? (
            <span className="ok">Ready: the account exists, holds the payout token and is not frozen.</span>
          ) : (
            <span className="bad">{chain.reason}</span>
          )}
        </dd>
        <dt>Accrued (owed to them)</dt>
        <dd data-testid="accrued">{r.accrued}</dd>
        <dt>Clawbacks owed (by them)</dt>
        <dd data-testid="clawbacks">{r.clawbackOwed}</dd>
      </dl>

      {r.rules.length > 0 ? (
        <>
          <h2 id="rules-heading">Named by</h2>
          <ul aria-labelledby="rules-heading">
            {r.rules.map((rule) => (
              <li key={rule.versionId}>
                <Link to={`/console/policies/${rule.versionId}`}>{rule.policy}</Link> ({words(rule.versionStatus)}): {rule.share}
              </li>
            ))}
          </ul>
        </>
      ) : null}

      {canChange && r.status !== "REMOVED" ? (
        <>
          <section aria-labelledby="status-heading">
            <h2 id="status-heading">{r.status === "PAUSED" ? "Resume" : "Pause"}</h2>
            <Form method="post" className="card">
              <CsrfInput token={csrf} />
              <input type="hidden" name="intent" value="set-status" />
              <input type="hidden" name="status" value={r.status === "PAUSED" ? "ACTIVE" : "PAUSED"} />
              <p>{r.status === "PAUSED" ? "Paid again from the next payment; what accrued meanwhile is paid with it." : "A paused recipient's shares accrue in its balance instead of being paid."}</p>
              <button type="submit" className="secondary">
                {r.status === "PAUSED" ? "Resume payouts" : "Pause payouts"}
              </button>
            </Form>
          </section>
          <section aria-labelledby="edit-heading">
            <h2 id="edit-heading">Edit</h2>
            <FormAlert message={edit?.message} />
            <Form method="post" className="card stack" noValidate>
              <CsrfInput token={csrf} />
              <input type="hidden" name="intent" value="update" />
              <RecipientFields
                values={edit?.values ?? { name: r.name, walletAddress: r.walletAddress, walletKind: r.walletKind, tokenAccount: r.tokenAccountDerived ? "" : r.tokenAccount }}
                errors={edit?.fieldErrors}
              />
              <p className="muted">Changing the wallet clears its verification: the new wallet&apos;s holder signs a challenge again.</p>
              <button type="submit">Save</button>
            </Form>
          </section>
        </>
      ) : !canChange ? (
        <p className="banner" role="status">
          You are a viewer: you see this recipient, and operators change it.
        </p>
      ) : null}
    </>
  );
}
