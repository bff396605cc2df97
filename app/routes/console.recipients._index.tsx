// /console/recipients: the organization's recipients with their wallet verification, balances (accrued,
// clawbacks owed) and whether their token account can receive on chain; operators add recipients here.
import { data, redirect, type ActionFunctionArgs, type LinksFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { CsrfInput, FormAlert } from "~/components/console-form";
import { RecipientFields } from "~/components/recipient-fields";
import { listRecipients } from "~/models/console-recipients.server";
import { issuesByField } from "~/models/input-errors";
import { roleAtLeast } from "~/models/operators.server";
import { createRecipientAsOperator } from "~/models/recipient-changes.server";
import { RecipientCreateSchema } from "~/models/recipient-input";
import type { loader as consoleLoader } from "~/routes/console";
import { payoutMint, readTokenAccountReadiness } from "~/settlement/recipient-accounts.server";
import pageStyles from "~/styles/console-pages.css?url";
import { getDatabase, getPrisma } from "~/utils/db.server";
import { recipientFailure, type FormActionResult } from "~/utils/console-errors.server";
import { getEnv } from "~/utils/env.server";
import { requireOperator, requireOperatorForm } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: pageStyles }];
export const meta: MetaFunction = () => [{ title: "Recipients · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const recipients = await listRecipients(await getDatabase(), auth.actor.organizationId);
  const readiness = await readTokenAccountReadiness(getEnv(), recipients.map((r) => r.tokenAccount));
  return {
    canChange: roleAtLeast(auth.role, "OPERATOR"),
    chain: readiness.available ? null : readiness.sentence,
    recipients: recipients.map((r) => {
      const verdict = readiness.available ? readiness.accounts.get(r.tokenAccount) : undefined;
      return { ...r, ready: verdict ? verdict.ready : null, notReady: verdict && !verdict.ready ? verdict.sentence : null };
    }),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireOperatorForm(request, context, { role: "OPERATOR" });
  const values = Object.fromEntries(["name", "walletAddress", "walletKind", "tokenAccount"].map((k) => [k, String(auth.form.get(k) ?? "")]));
  const parsed = RecipientCreateSchema.safeParse(values);
  if (!parsed.success) return data<FormActionResult>({ values, fieldErrors: issuesByField(parsed.error) }, { status: 400 });
  try {
    const recipient = await createRecipientAsOperator(await getPrisma(), auth.actor, parsed.data, await payoutMint(getEnv()));
    return redirect(`/console/recipients/${recipient.id}?created=1`);
  } catch (error) {
    return recipientFailure(error, values);
  }
}

const words = (text: string) => text.toLowerCase().replace(/_/g, " ");

export default function Recipients() {
  const { recipients, chain, canChange } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const csrf = useRouteLoaderData<typeof consoleLoader>("routes/console")?.csrf ?? "";
  return (
    <>
      <h1>Recipients</h1>
      <p className="muted">Balances are what the ledger holds for each recipient: shares accrued but not yet paid, and clawbacks they owe back (netted from later payouts).</p>
      {chain ? (
        <p className="banner" role="status" data-testid="chain-unavailable">
          {chain}
        </p>
      ) : null}
      {recipients.length === 0 ? (
        <p className="muted">No recipient yet.{canChange ? " Add the first one below." : ""}</p>
      ) : (
        <div className="scroll">
          <table aria-label="Recipients">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Wallet</th>
                <th scope="col">Token account</th>
                <th scope="col" className="num">Accrued</th>
                <th scope="col" className="num">Clawbacks owed</th>
              </tr>
            </thead>
            <tbody>
              {recipients.map((r) => (
                <tr key={r.id} data-recipient={r.name}>
                  <td>
                    <Link to={`/console/recipients/${r.id}`}>{r.name}</Link>
                  </td>
                  <td>{words(r.status)}</td>
                  <td>
                    <code>{r.walletAddress}</code>
                    <br />
                    <span className={r.walletVerifiedAt ? "ok" : "muted"}>{r.walletVerifiedAt ? "verified" : r.walletKind === "PDA_OWNER" ? "PDA: cannot be verified" : "not verified"}</span>
                  </td>
                  <td>
                    <code>{r.tokenAccount}</code>
                    <br />
                    {r.ready === null ? <span className="muted">not checked</span> : r.ready ? <span className="ok">can receive</span> : <span className="bad">{r.notReady}</span>}
                  </td>
                  <td className="num">{r.accrued}</td>
                  <td className="num">{r.clawbackOwed}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canChange ? (
        <section aria-labelledby="add-heading">
          <h2 id="add-heading">Add a recipient</h2>
          <FormAlert message={result?.message} />
          <Form method="post" className="card stack" noValidate>
            <CsrfInput token={csrf} />
            <RecipientFields values={result?.values} errors={result?.fieldErrors} />
            <button type="submit">Add recipient</button>
          </Form>
        </section>
      ) : (
        <p className="banner" role="status">
          You are a viewer: you see the recipients, and operators add and change them.
        </p>
      )}
    </>
  );
}
