// /console/policies/new: the first version of a new policy, saved as a draft (operators and admins).
import type { ActionFunctionArgs, LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useActionData, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import { echoedValues, PolicyEditor } from "~/components/policy-editor";
import { listRuleRecipients } from "~/models/console-policies.server";
import type { loader as consoleLoader } from "~/routes/console";
import pageStyles from "~/styles/console-pages.css?url";
import { getPrisma } from "~/utils/db.server";
import { savePolicyFromForm } from "~/utils/policy-form.server";
import { requireOperator, requireOperatorForm } from "~/utils/session.server";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: pageStyles }];
export const meta: MetaFunction = () => [{ title: "New policy · StableFlow console" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await requireOperator(request, { role: "OPERATOR" });
  return { recipients: await listRuleRecipients(await getPrisma(), auth.actor.organizationId) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireOperatorForm(request, context, { role: "OPERATOR" });
  return savePolicyFromForm(auth.actor, auth.form);
}

export default function NewPolicy() {
  const { recipients } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const csrf = useRouteLoaderData<typeof consoleLoader>("routes/console")?.csrf ?? "";
  return (
    <>
      <p>
        <Link to="/console/policies">← Policies</Link>
      </p>
      <h1>New policy</h1>
      {recipients.length === 0 ? (
        <p className="banner" role="status">
          A rule names a recipient: <Link to="/console/recipients">add recipients</Link> first.
        </p>
      ) : null}
      <PolicyEditor
        csrf={csrf}
        basedOnVersion={0}
        nameEditable
        tokenSymbol="sUSD"
        recipients={recipients}
        values={result?.values ? echoedValues(result.values) : { rules: [] }}
        errors={result?.fieldErrors}
        message={result?.message}
      />
    </>
  );
}
