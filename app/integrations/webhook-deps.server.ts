// What the webhook handler needs in the running app: the booted database and the verifier for the
// configured (or generated) secret. One place, for the Remix route and the Node handler alike.
import { getDatabase } from "~/utils/db.server";
import { getEnv } from "~/utils/env.server";
import { getWebhookVerifier } from "./dodo.server";
import type { DodoWebhookDeps } from "./dodo-webhook-handler.server";

export async function appWebhookDeps(): Promise<DodoWebhookDeps> {
  return { db: await getDatabase(), verifier: await getWebhookVerifier(getEnv()) };
}
