// The sender on its own: which addresses count as private, an attempt's deadline, and what counts as delivered.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPrivateAddress, newEndpointSecret, sendSignedWebhook } from "./webhook-sender.server";

describe("isPrivateAddress", () => {
  it.each(["127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "not-an-ip"])(
    "error: %s is refused",
    (address) => expect(isPrivateAddress(address)).toBe(true),
  );
  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "::ffff:808:808"])("%s is public", (address) => expect(isPrivateAddress(address)).toBe(false));
});

describe("sendSignedWebhook", () => {
  let server: Server;
  let base: string;
  const seen: { path: string; headers: Record<string, string>; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ path: req.url ?? "", headers: req.headers as Record<string, string>, body });
        if (req.url === "/slow") return; // never answers
        if (req.url === "/redirect") return res.writeHead(302, { location: "/ok" }).end();
        if (req.url === "/fail") return res.writeHead(500).end("no");
        res.writeHead(204).end();
      });
    });
    server.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const secret = newEndpointSecret();
  const send = (path: string, timeoutMs = 5_000) =>
    sendSignedWebhook({ url: `${base}${path}`, webhookId: "msg_test", body: '{"type":"x","data":{}}', secret, timeoutMs, policy: { allowPrivate: true } });

  it("a 2xx is delivered, signed over the exact body with the endpoint's secret", async () => {
    const outcome = await send("/ok");
    expect(outcome).toMatchObject({ delivered: true, statusCode: 204, error: null });
    const got = seen.at(-1)!;
    expect(new Webhook(secret).verify(got.body, got.headers)).toEqual({ type: "x", data: {} });
    expect(got.headers["webhook-id"]).toBe("msg_test");
  });

  it("error: a 500 and a redirect are not delivered (redirects are not followed)", async () => {
    expect(await send("/fail")).toMatchObject({ delivered: false, statusCode: 500, error: "HTTP 500" });
    const before = seen.length;
    expect(await send("/redirect")).toMatchObject({ delivered: false, statusCode: 302, error: "HTTP 302" });
    expect(seen.length).toBe(before + 1);
  });

  it("error: no answer within the deadline ends the attempt", async () => {
    expect(await send("/slow", 300)).toMatchObject({ delivered: false, statusCode: null, error: "no answer within 300 ms" });
  });

  it("error: a loopback address is refused before connecting when private addresses are not allowed", async () => {
    const before = seen.length;
    const outcome = await sendSignedWebhook({ url: `${base}/ok`, webhookId: "msg_x", body: "{}", secret, timeoutMs: 1_000, policy: { allowPrivate: false } });
    expect(outcome.delivered).toBe(false);
    expect(outcome.error).toMatch(/^refused: 127\.0\.0\.1 is a private, loopback or reserved address/);
    expect(seen.length).toBe(before);
  });
});
