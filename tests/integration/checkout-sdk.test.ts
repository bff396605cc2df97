// The real `dodopayments` SDK against the local Dodo double: request shape, response shape, error paths.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { APIError } from "dodopayments";
import { createDodoClient } from "~/integrations/dodo.server";
import { startDodoDouble, type DodoDouble } from "../mocks/dodo";

describe("Dodo SDK against the double", () => {
  let double: DodoDouble;
  const apiKey = "sk_test_do_not_log_me";

  beforeAll(async () => {
    double = await startDodoDouble({ expectedApiKey: apiKey });
  });
  afterAll(async () => {
    await double.close();
  });
  beforeEach(() => double.reset());

  it("creates a checkout session: POST /checkouts with our metadata, checkout_url on the return URL's origin", async () => {
    const client = createDodoClient({ apiKey, environment: "test_mode", baseURL: double.baseURL });
    const response = await client.checkoutSessions.create({
      product_cart: [{ product_id: "pdt_1", quantity: 2 }],
      customer: { email: "a@example.com", name: "A" },
      return_url: "http://127.0.0.1:9999/checkout/success?checkout=abc",
      metadata: { stableflow_checkout_id: "abc", stableflow_org: "org-1" },
    });
    expect(response.session_id).toMatch(/^cks_/);
    expect(response.checkout_url).toBe(`http://127.0.0.1:9999/simulator/checkout/${response.session_id}`);
    expect(double.requests).toHaveLength(1);
    const [request] = double.requests;
    expect(request!.method).toBe("POST");
    expect(request!.path).toBe("/checkouts");
    expect(request!.headers.authorization).toBe("Bearer");
    expect(JSON.stringify(double.requests)).not.toContain(apiKey);
    expect(request!.body).toMatchObject({
      product_cart: [{ product_id: "pdt_1", quantity: 2 }],
      metadata: { stableflow_checkout_id: "abc", stableflow_org: "org-1" },
    });
  });

  it("error: a 5xx is surfaced once, not retried (no idempotency key on POST /checkouts)", async () => {
    const client = createDodoClient({ apiKey, environment: "test_mode", baseURL: double.baseURL });
    double.failNext(503, 5);
    const attempt = client.checkoutSessions.create({ product_cart: [{ product_id: "pdt_1", quantity: 1 }] });
    await expect(attempt).rejects.toBeInstanceOf(APIError);
    await attempt.catch((error: APIError) => expect(error.status).toBe(503));
    expect(double.requests).toHaveLength(1);
  });

  it("error: a wrong API key is a 401 from the double", async () => {
    const client = createDodoClient({ apiKey: "sk_wrong", environment: "test_mode", baseURL: double.baseURL });
    await expect(client.checkoutSessions.create({ product_cart: [] })).rejects.toMatchObject({ status: 401 });
  });

  it("error: a malformed cart is a 422 from the double", async () => {
    const client = createDodoClient({ apiKey, environment: "test_mode", baseURL: double.baseURL });
    await expect(
      client.checkoutSessions.create({ product_cart: [{ product_id: "", quantity: 1 }] }),
    ).rejects.toMatchObject({ status: 422 });
  });
});
