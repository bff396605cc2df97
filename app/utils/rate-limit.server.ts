// Sign-in rate limiting, per account (the e-mail typed) and per client address, counted in the database
// (login_attempts) so that every web process in front of the same database enforces the same limit.
import type { PrismaClient } from "~/generated/prisma/client";

export interface LoginLimits {
  /** Failures of one account within `windowMs` that lock it (a success starts the count again). */
  perAccount: number;
  /** Failures from one address within `windowMs` that lock it (successes do not reset it). */
  perAddress: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perAccount: 5, perAddress: 20, windowMs: 15 * 60_000 };

export type LoginAttemptTicket =
  | { allowed: true; ids: bigint[] }
  | { allowed: false; retryAfterSeconds: number };

export interface LoginAttemptKeys {
  /** The normalised e-mail typed, whether or not an operator has it: the count must not tell. */
  account: string;
  /** The client's address; undefined when unknown (then only the account is limited). */
  address?: string;
}

const KEEP_ATTEMPTS_MS = 24 * 60 * 60_000;

/**
 * Records an attempt before the password is checked, then counts: concurrent attempts each see the
 * others, so a burst cannot slip more than the limit through. A refused attempt is removed again (it
 * checked no password), so the lock ends one window after the failures that caused it.
 */
export async function beginLoginAttempt(
  prisma: PrismaClient,
  keys: LoginAttemptKeys,
  limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
  now: Date = new Date(),
): Promise<LoginAttemptTicket> {
  const scopes = [
    { scope: "ACCOUNT" as const, key: keys.account, limit: limits.perAccount },
    ...(keys.address ? [{ scope: "ADDRESS" as const, key: keys.address, limit: limits.perAddress }] : []),
  ];
  const ids: bigint[] = [];
  for (const { scope, key } of scopes) {
    const row = await prisma.loginAttempt.create({ data: { scope, key, succeeded: false, createdAt: now }, select: { id: true } });
    ids.push(row.id);
  }
  const windowStart = new Date(now.getTime() - limits.windowMs);
  let retryAfterMs = 0;
  for (const { scope, key, limit } of scopes) {
    let since = windowStart;
    if (scope === "ACCOUNT") {
      const lastSuccess = await prisma.loginAttempt.findFirst({
        where: { scope, key, succeeded: true, createdAt: { gt: windowStart } },
        orderBy: { createdAt: "desc" },
        select: { createdAt: true },
      });
      if (lastSuccess) since = lastSuccess.createdAt;
    }
    // The newest `limit + 1` failures (this attempt among them): more than `limit` = locked until the
    // oldest of the `limit` before this one leaves the window.
    const failures = await prisma.loginAttempt.findMany({
      where: { scope, key, succeeded: false, createdAt: { gt: since }, id: { notIn: ids } },
      orderBy: { createdAt: "desc" },
      take: limit,
      select: { createdAt: true },
    });
    if (failures.length >= limit) {
      const oldest = failures[failures.length - 1].createdAt.getTime();
      retryAfterMs = Math.max(retryAfterMs, oldest + limits.windowMs - now.getTime());
    }
  }
  if (retryAfterMs > 0) {
    await prisma.loginAttempt.deleteMany({ where: { id: { in: ids } } });
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
  }
  // Old rows are of no use to any window: trimmed now and then, by whoever signs in.
  if (ids[0] % 50n === 0n) {
    await prisma.loginAttempt.deleteMany({ where: { createdAt: { lt: new Date(now.getTime() - KEEP_ATTEMPTS_MS) } } });
  }
  return { allowed: true, ids };
}

/** Marks the attempt a success: the account's failures before it stop counting. */
export async function markLoginSucceeded(prisma: PrismaClient, ticket: Extract<LoginAttemptTicket, { allowed: true }>): Promise<void> {
  await prisma.loginAttempt.updateMany({ where: { id: { in: ticket.ids }, scope: "ACCOUNT" }, data: { succeeded: true } });
}

/** "15 minutes", "1 minute", "40 seconds": for the refusal's sentence. */
export function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
