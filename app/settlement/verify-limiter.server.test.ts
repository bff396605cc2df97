// The verification page's token bucket: a burst, then the refill rate; one client's exhaustion is not
// another's; the table of clients stays bounded.
import { describe, expect, it } from "vitest";
import { TokenBucketLimiter } from "./verify-limiter.server";

describe("TokenBucketLimiter", () => {
  it("allows the burst, refuses the next with the wait until a token is back, and refills at its rate", () => {
    const limiter = new TokenBucketLimiter({ burst: 3, refillPerSecond: 0.5, maxClients: 10 });
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => limiter.take("a", 1, t0).allowed)).toEqual([true, true, true]);
    expect(limiter.take("a", 1, t0)).toEqual({ allowed: false, retryAfterSeconds: 2 });
    // One second later half a token is back: still refused, one more second to wait.
    expect(limiter.take("a", 1, t0 + 1_000)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take("a", 1, t0 + 2_000).allowed).toBe(true);
    expect(limiter.take("a", 1, t0 + 2_000).allowed).toBe(false);
    // A long pause refills to the burst, never beyond it.
    const later = t0 + 3_600_000;
    expect([1, 2, 3, 4].map(() => limiter.take("a", 1, later).allowed)).toEqual([true, true, true, false]);
  });

  it("counts each client on its own", () => {
    const limiter = new TokenBucketLimiter({ burst: 1, refillPerSecond: 0.001, maxClients: 10 });
    expect(limiter.take("203.0.113.1", 1, 0).allowed).toBe(true);
    expect(limiter.take("203.0.113.1", 1, 0).allowed).toBe(false);
    expect(limiter.take("203.0.113.2", 1, 0).allowed).toBe(true);
  });

  it("forgets the least recently seen clients beyond its bound", () => {
    const limiter = new TokenBucketLimiter({ burst: 1, refillPerSecond: 0.001, maxClients: 3 });
    for (const client of ["a", "b", "c", "d"]) limiter.take(client, 1, 0);
    expect(limiter.size).toBe(3);
    // "a" was forgotten: it starts with a full bucket again; "d" was not.
    expect(limiter.take("a", 1, 0).allowed).toBe(true);
    expect(limiter.take("d", 1, 0).allowed).toBe(false);
  });
});
