// Operator sessions in the database: the cookie carries a random token, the row only its sha256, so a
// copy of the database yields no live session. A session ends when revoked, at its absolute expiry, or
// after SESSION_IDLE_MS without a request.
import type { OperatorRole, PrismaClient } from "~/generated/prisma/client";
import { hashToken, newToken } from "./operators.server";

export const SESSION_IDLE_MS = 2 * 60 * 60_000;
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60_000;
/** last_seen_at is written at most this often per session (not on every request). */
const TOUCH_EVERY_MS = 60_000;

export interface SessionOperator {
  sessionId: string;
  operatorId: string;
  email: string;
  name: string;
  role: OperatorRole;
  organization: { id: string; slug: string; name: string };
}

export interface SessionClient {
  ipAddress?: string;
  userAgent?: string;
}

/**
 * A new session for the operator; `replacingToken` (the cookie the browser arrived with, if any) is
 * revoked in the same transaction: a sign-in always rotates the token, so one planted before it is useless.
 */
export async function createSession(
  prisma: PrismaClient,
  operatorId: string,
  options: { replacingToken?: string; client?: SessionClient; now?: Date } = {},
): Promise<{ token: string; expiresAt: Date }> {
  const now = options.now ?? new Date();
  const { token, tokenHash } = newToken();
  const expiresAt = new Date(now.getTime() + SESSION_ABSOLUTE_MS);
  await prisma.$transaction([
    ...(options.replacingToken
      ? [prisma.operatorSession.updateMany({ where: { tokenHash: hashToken(options.replacingToken), revokedAt: null }, data: { revokedAt: now } })]
      : []),
    prisma.operatorSession.create({
      data: {
        operatorId,
        tokenHash,
        expiresAt,
        lastSeenAt: now,
        ipAddress: options.client?.ipAddress?.slice(0, 100),
        userAgent: options.client?.userAgent?.slice(0, 300),
      },
    }),
  ]);
  return { token, expiresAt };
}

/** The live session's operator, or null (unknown, revoked, expired, idle too long, operator disabled). */
export async function findSessionOperator(prisma: PrismaClient, token: string, now: Date = new Date()): Promise<SessionOperator | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const session = await prisma.operatorSession.findUnique({
    where: { tokenHash: hashToken(token) },
    select: {
      id: true,
      expiresAt: true,
      revokedAt: true,
      lastSeenAt: true,
      operator: {
        select: { id: true, email: true, name: true, role: true, disabledAt: true, organization: { select: { id: true, slug: true, name: true } } },
      },
    },
  });
  if (!session || session.revokedAt || session.expiresAt <= now || session.operator.disabledAt) return null;
  if (now.getTime() - session.lastSeenAt.getTime() >= SESSION_IDLE_MS) return null;
  if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
    await prisma.operatorSession.updateMany({ where: { id: session.id, revokedAt: null }, data: { lastSeenAt: now } });
  }
  const { operator } = session;
  return { sessionId: session.id, operatorId: operator.id, email: operator.email, name: operator.name, role: operator.role, organization: operator.organization };
}

/** Ends the session the token names (sign-out). */
export async function revokeSessionByToken(prisma: PrismaClient, token: string, now: Date = new Date()): Promise<void> {
  await prisma.operatorSession.updateMany({ where: { tokenHash: hashToken(token), revokedAt: null }, data: { revokedAt: now } });
}

/** Ends every session of an operator ("log out everywhere"); returns how many were live. */
export async function revokeAllSessions(prisma: PrismaClient, operatorId: string, now: Date = new Date()): Promise<number> {
  const result = await prisma.operatorSession.updateMany({ where: { operatorId, revokedAt: null, expiresAt: { gt: now } }, data: { revokedAt: now } });
  return result.count;
}

/** Ends one session of an operator of `organizationId` (an admin ending someone's session, or one's own). */
export async function revokeSessionInOrganization(prisma: PrismaClient, organizationId: string, sessionId: string, now: Date = new Date()): Promise<boolean> {
  const result = await prisma.operatorSession.updateMany({
    where: { id: sessionId, revokedAt: null, operator: { organizationId } },
    data: { revokedAt: now },
  });
  return result.count === 1;
}

/** Ends every session of an operator of `organizationId`; null when no such operator is in it. */
export async function revokeOperatorSessionsInOrganization(prisma: PrismaClient, organizationId: string, operatorId: string, now: Date = new Date()): Promise<number | null> {
  const target = await prisma.operator.findFirst({ where: { id: operatorId, organizationId }, select: { id: true } });
  if (!target) return null;
  return revokeAllSessions(prisma, target.id, now);
}

/** True when the session is one of the operator's own. */
export async function isOwnSession(prisma: PrismaClient, operatorId: string, sessionId: string): Promise<boolean> {
  return (await prisma.operatorSession.count({ where: { id: sessionId, operatorId } })) === 1;
}
