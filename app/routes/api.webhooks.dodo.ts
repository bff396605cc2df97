// POST /api/webhooks/dodo: Dodo Payments' signed webhooks. Thin: all rules are in the handler it calls.
// The production server (scripts/app.mjs) answers this path on Node directly, before Remix, with the
// same core (serveDodoWebhook in entry.server); this route serves it under `remix vite:dev`.
import type { ActionFunctionArgs } from "@remix-run/node";
import { handleDodoWebhook } from "~/integrations/dodo-webhook-handler.server";
import { appWebhookDeps } from "~/integrations/webhook-deps.server";

export async function action({ request }: ActionFunctionArgs) {
  return handleDodoWebhook(request, appWebhookDeps);
}

export async function loader() {
  return new Response(JSON.stringify({ error: "method not allowed" }), {
    status: 405,
    headers: { allow: "POST", "content-type": "application/json; charset=utf-8" },
  });
}
