// POST /logout: ends this browser's session (the row revoked, the cookie cleared). GET only points back.
import { redirect, type ActionFunctionArgs } from "@remix-run/node";
import { revokeSessionByToken } from "~/models/operator-sessions.server";
import { getPrisma } from "~/utils/db.server";
import { clearedSessionCookie, readSmallForm, requireSameSite, sessionToken } from "~/utils/session.server";

export async function loader() {
  // Signing out changes state, so it is a form post; a link here just goes back to the console.
  return redirect("/console");
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await readSmallForm(request);
  requireSameSite(request, form, context);
  const token = sessionToken(request);
  if (token) await revokeSessionByToken(await getPrisma(), token);
  return redirect("/login", { headers: { "Set-Cookie": clearedSessionCookie() } });
}
