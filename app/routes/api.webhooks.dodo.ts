// POST /api/webhooks/dodo: Dodo Payments' signed webhooks. Thin: all rules are in the handler it calls.
import type { ActionFunctionArgs } from "@remix-run/node";
import { getWebhookVerifier } from "~/integrations/dodo.server";
import { handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { getDatabase } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";

export async function action({ request }: ActionFunctionArgs) {
  return handleDodoWebhook(request, async () => ({ db: await getDatabase(), verifier: await getWebhookVerifier(getEnv()) }));
}

export async function loader() {
  return new Response(JSON.stringify({ error: "method not allowed" }), {
    status: 405,
    headers: { allow: "POST", "content-type": "application/json; charset=utf-8" },
  });
}
