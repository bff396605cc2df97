// Per-key rate limiting of the operator API: a token bucket per API key in this process (the API is
// served by one web process; decision 013 says what changes with several), `limit` requests a minute
// with a burst of as many. A refused request costs nothing and is answered 429 with Retry-After.

interface Bucket {
  tokens: number;
  at: number;
}

export class ApiRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Takes one request from the key's bucket: null when allowed, else the seconds until one is. */
  take(key: string): number | null {
    const now = this.now();
    const ratePerMs = this.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * ratePerMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    if (this.buckets.size > 10_000) this.prune(now, ratePerMs);
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
  }

  /** Forgets full buckets (keys idle long enough to have refilled): the map stays as small as the active keys. */
  private prune(now: number, ratePerMs: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * ratePerMs >= this.perMinute) this.buckets.delete(key);
    }
  }
}

let shared: { perMinute: number; limiter: ApiRateLimiter } | undefined;

/** This process's limiter at `perMinute` (STABLEFLOW_API_RATE_LIMIT). */
export function apiRateLimiter(perMinute: number): ApiRateLimiter {
  if (!shared || shared.perMinute !== perMinute) shared = { perMinute, limiter: new ApiRateLimiter(perMinute) };
  return shared.limiter;
}
