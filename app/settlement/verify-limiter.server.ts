// The public verification page's rate limit: a token bucket per client address, in this process's memory.
// Why that scope is enough: the page guards no secret (everything it shows is public on chain, so there is
// nothing to guess and no account to lock); what it protects is the RPC endpoint's quota and the database
// from one client asking in a loop (each lookup checks up to a page of payouts live, a few RPC calls each).
// A per-process bucket bounds that per process: N web processes allow N times the rate, still bounded, and
// a restart forgets the counts, which costs at most one more burst. The key is the client's address as
// scripts/app.mjs resolves it (the socket's peer, or what a proxy on loopback forwarded), never a header a
// remote client writes. The table is bounded, so a flood of addresses cannot
// grow memory without limit.

export interface LimiterOptions {
  /** Requests a client may make at once. */
  burst: number;
  /** Tokens regained per second. */
  refillPerSecond: number;
  /** Clients remembered at most (the least recently seen are forgotten first). */
  maxClients: number;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** 20 lookups at once, then one every 3 seconds: a person re-checking never notices, a loop does. */
export const VERIFY_LIMITS: LimiterOptions = { burst: 20, refillPerSecond: 1 / 3, maxClients: 10_000 };

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly options: LimiterOptions) {}

  /** Takes `cost` tokens from `client`'s bucket at `nowMs`, or says how long until it could. */
  take(client: string, cost = 1, nowMs: number = Date.now()): LimitDecision {
    const { burst, refillPerSecond, maxClients } = this.options;
    const previous = this.buckets.get(client);
    const tokens = previous ? Math.min(burst, previous.tokens + ((nowMs - previous.at) / 1000) * refillPerSecond) : burst;
    // Re-inserted at the end: the Map's order is least recently seen first.
    this.buckets.delete(client);
    if (tokens < cost) {
      this.buckets.set(client, { tokens, at: nowMs });
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / refillPerSecond)) };
    }
    this.buckets.set(client, { tokens: tokens - cost, at: nowMs });
    while (this.buckets.size > maxClients) this.buckets.delete(this.buckets.keys().next().value!);
    return { allowed: true };
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** The process's limiter of /verify and its proof downloads. */
export const verifyLimiter = new TokenBucketLimiter(VERIFY_LIMITS);
