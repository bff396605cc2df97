// The checkout simulator's stand-in for Dodo's Checkout Sessions API, in process: it answers
// `checkoutSessions.create` as Dodo does (a session id and a hosted-checkout URL) with the URL pointing at
// our own simulator page on the return URL's origin (the configured public origin). The HTTP double of
// Dodo's API in tests/mocks is for tests; this is what the production bundle carries instead.
import { randomBytes } from "node:crypto";
import type { CheckoutSessionCreateParams } from "dodopayments/resources/checkout-sessions";
import type { DodoCheckoutApi } from "./dodo.server";

export function createSimulatorCheckoutApi(): DodoCheckoutApi {
  return {
    checkoutSessions: {
      async create(params: CheckoutSessionCreateParams) {
        if (!params.return_url) throw new TypeError("the simulator needs a return_url to know where its pages live");
        const sessionId = `cks_${randomBytes(12).toString("base64url")}`;
        const checkoutUrl = new URL(`/simulator/checkout/${sessionId}`, params.return_url).toString();
        return { session_id: sessionId, checkout_url: checkoutUrl };
      },
    },
  };
}
