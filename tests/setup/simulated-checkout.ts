// A customer's purchase through the checkout simulator on a served app (no Dodo API key), as a browser does it:
// the shop's form, the hosted-page stand-in with its CSRF token and cookie, and the chosen outcome.
import { expect } from "vitest";

export function formBody(fields: Record<string, string>): URLSearchParams {
  return new URLSearchParams(fields);
}

/** The simulator's posts move money: they carry the page's CSRF token and its cookie, as a browser's would. */
export async function csrfOf(page: Response): Promise<{ csrf: string; cookie: string; html: string }> {
  const html = await page.text();
  const csrf = /name="csrf" value="([A-Za-z0-9_-]+)"/.exec(html)![1]!;
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith("stableflow_csrf="))!.split(";")[0]!;
  return { csrf, cookie, html };
}

/** The first product of the default shop. */
export async function firstProductId(baseUrl: string): Promise<string> {
  const html = await (await fetch(`${baseUrl}/shop`)).text();
  return /name="productId" value="([0-9a-f-]{36})"/.exec(html)![1]!;
}

/** Starts a checkout of the first product; returns the simulator's hosted page. */
export async function startSimulatedCheckout(baseUrl: string): Promise<string> {
  const productId = await firstProductId(baseUrl);
  const response = await fetch(`${baseUrl}/api/checkout`, {
    method: "POST",
    body: formBody({ org: "default", productId, customerName: "Sim", customerEmail: "sim@example.com", quantity: "1" }),
    redirect: "manual",
  });
  expect(response.status).toBe(303);
  return response.headers.get("location")!;
}

/** Presses one of the hosted page's buttons; returns the answer (a 303 to the result page when it was allowed). */
export async function chooseOutcome(checkoutPage: string, outcome: "pay" | "fail" | "cancel"): Promise<Response> {
  const { csrf, cookie } = await csrfOf(await fetch(checkoutPage));
  return fetch(checkoutPage, { method: "POST", body: formBody({ outcome, csrf }), headers: { cookie }, redirect: "manual" });
}
