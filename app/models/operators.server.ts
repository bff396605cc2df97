// Operators of an organization: sign-in, the first admin (setup link), invitations, roles. Every function
// that acts for an operator takes the acting operator's organization and touches nothing outside it.
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import type { OperatorRole, PrismaClient } from "~/generated/prisma/client";
import { isUniqueViolation } from "~/utils/db-errors.server";
import { hashPassword, needsRehash, PasswordSchema, verifyAgainstDummy, verifyPassword, type ScryptParams } from "~/utils/passwords.server";
import { beginLoginAttempt, markLoginSucceeded, type LoginLimits } from "~/utils/rate-limit.server";
import { ensureDefaultOrganization } from "./organizations.server";

export type { OperatorRole };
export const ROLES = ["ADMIN", "OPERATOR", "VIEWER"] as const satisfies readonly OperatorRole[];
const RANK: Record<OperatorRole, number> = { VIEWER: 0, OPERATOR: 1, ADMIN: 2 };

/** True when `role` may do what `required` may. */
export function roleAtLeast(role: OperatorRole, required: OperatorRole): boolean {
  return RANK[role] >= RANK[required];
}

export const SETUP_TOKEN_TTL_MS = 60 * 60_000;
export const INVITATION_TTL_MS = 72 * 60 * 60_000;

export type OperatorErrorCode =
  | "EMAIL_TAKEN"
  | "TOKEN_INVALID"
  | "ALREADY_SET_UP"
  | "OPERATOR_NOT_FOUND"
  | "LAST_ADMIN"
  | "NOT_IN_ORGANIZATION";

export class OperatorError extends Error {
  constructor(readonly code: OperatorErrorCode, message: string) {
    super(message);
    this.name = "OperatorError";
  }
}

// ------------------------------------------------------------------ input schemas (forms and server alike)

export const EmailSchema = z
  .string({ error: "Enter an e-mail address." })
  .trim()
  .toLowerCase()
  .max(254, { error: "Use at most 254 characters." })
  .pipe(z.email({ error: "Enter an e-mail address like name@example.com." }));
export const NameSchema = z
  .string({ error: "Enter a name." })
  .trim()
  .min(1, { error: "Enter a name." })
  .max(200, { error: "Use at most 200 characters." });
export const RoleSchema = z.enum(ROLES, { error: "Choose admin, operator or viewer." });

export const LoginSchema = z.object({
  email: z.string({ error: "Enter your e-mail address." }).trim().toLowerCase().min(1, { error: "Enter your e-mail address." }).max(254),
  // Not PasswordSchema: an old password shorter than today's rule must still be able to sign in.
  password: z.string({ error: "Enter your password." }).min(1, { error: "Enter your password." }).max(200, { error: "Use at most 200 characters." }),
});

const NewPassword = z
  .object({ password: PasswordSchema, confirm: z.string({ error: "Repeat the password." }) })
  .refine((value) => value.password === value.confirm, { path: ["confirm"], error: "The two passwords differ." });

export const SetupSchema = z
  .object({ organizationName: NameSchema, name: NameSchema, email: EmailSchema })
  .and(NewPassword);
export const AcceptInvitationSchema = z.object({ name: NameSchema }).and(NewPassword);
export const InvitationSchema = z.object({ email: EmailSchema, role: RoleSchema });
export const ChangeRoleSchema = z.object({ operatorId: z.uuid({ error: "Choose an operator." }), role: RoleSchema });
export const OperatorIdSchema = z.object({ operatorId: z.uuid({ error: "Choose an operator." }) });

/** Field errors of a failed parse, one sentence per field, for the form to show beside each field. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? "form");
    out[field] ??= issue.message;
  }
  return out;
}

// ------------------------------------------------------------------ tokens

/** A new random token (what the link carries) and its sha256 (what the database keeps). */
export function newToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, tokenHash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

// ------------------------------------------------------------------ sign-in

export type SignInResult =
  | { ok: true; operatorId: string }
  | { ok: false; code: "INVALID_CREDENTIALS" }
  | { ok: false; code: "RATE_LIMITED"; retryAfterSeconds: number };

export interface SignInOptions {
  address?: string;
  limits?: LoginLimits;
  hashParams?: ScryptParams;
}

/**
 * Checks an e-mail and password. An unknown e-mail, a disabled operator and a wrong password give the
 * same answer after the same work (a password hash either way), so the answer tells nobody who has an
 * account. Rate limited per typed e-mail and per address before any hashing.
 */
export async function signIn(prisma: PrismaClient, input: { email: string; password: string }, options: SignInOptions = {}): Promise<SignInResult> {
  const account = input.email.trim().toLowerCase();
  const ticket = await beginLoginAttempt(prisma, { account, address: options.address }, options.limits);
  if (!ticket.allowed) return { ok: false, code: "RATE_LIMITED", retryAfterSeconds: ticket.retryAfterSeconds };
  const operator = await prisma.operator.findFirst({
    where: { email: { equals: account, mode: "insensitive" } },
    select: { id: true, passwordHash: true, disabledAt: true },
  });
  const valid = operator ? await verifyPassword(input.password, operator.passwordHash) : await verifyAgainstDummy(input.password);
  if (!operator || !valid || operator.disabledAt) return { ok: false, code: "INVALID_CREDENTIALS" };
  await markLoginSucceeded(prisma, ticket);
  if (needsRehash(operator.passwordHash, options.hashParams)) {
    await prisma.operator.update({ where: { id: operator.id }, data: { passwordHash: await hashPassword(input.password, options.hashParams) } });
  }
  return { ok: true, operatorId: operator.id };
}

// ------------------------------------------------------------------ creating operators

export interface NewOperator {
  organizationId: string;
  email: string;
  name: string;
  role: OperatorRole;
  password: string;
}

/** Creates an operator (the password hashed here); EMAIL_TAKEN when any organization has the address. */
export async function createOperator(prisma: PrismaClient, input: NewOperator, hashParams?: ScryptParams) {
  const email = EmailSchema.parse(input.email);
  const passwordHash = await hashPassword(PasswordSchema.parse(input.password), hashParams);
  try {
    return await prisma.operator.create({
      data: { organizationId: input.organizationId, email, name: NameSchema.parse(input.name), role: input.role, passwordHash },
      select: { id: true, organizationId: true, email: true, name: true, role: true },
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new OperatorError("EMAIL_TAKEN", "An operator with this e-mail address already exists.");
    throw error;
  }
}

export async function countOperators(prisma: PrismaClient): Promise<number> {
  return prisma.operator.count();
}

// ------------------------------------------------------------------ the first admin

/**
 * When no operator exists at all, a one-time setup token (valid SETUP_TOKEN_TTL_MS, any older unused one
 * withdrawn); null once anyone can sign in. The caller prints the link: only the person at the console
 * of a fresh install sees it.
 */
export async function issueSetupTokenIfNoOperator(prisma: PrismaClient, now: Date = new Date()): Promise<string | null> {
  if ((await countOperators(prisma)) > 0) return null;
  const { token, tokenHash } = newToken();
  await prisma.$transaction([
    prisma.setupToken.updateMany({ where: { usedAt: null }, data: { expiresAt: now } }),
    prisma.setupToken.create({ data: { tokenHash, expiresAt: new Date(now.getTime() + SETUP_TOKEN_TTL_MS) } }),
  ]);
  return token;
}

/** True when the token is unused, unexpired and no operator exists yet. */
export async function setupTokenUsable(prisma: PrismaClient, token: string, now: Date = new Date()): Promise<boolean> {
  if (!TOKEN_PATTERN.test(token)) return false;
  const row = await prisma.setupToken.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!row || row.usedAt || row.expiresAt <= now) return false;
  return (await countOperators(prisma)) === 0;
}

/**
 * Creates the first admin with the token, once: the token is spent in the same transaction (a
 * conditional update, so two submissions cannot both succeed), and refused as soon as any operator exists.
 */
export async function completeSetup(
  prisma: PrismaClient,
  token: string,
  input: z.infer<typeof SetupSchema>,
  options: { now?: Date; hashParams?: ScryptParams } = {},
) {
  const now = options.now ?? new Date();
  if (!TOKEN_PATTERN.test(token)) throw new OperatorError("TOKEN_INVALID", "This setup link is not valid.");
  const passwordHash = await hashPassword(input.password, options.hashParams);
  const organization = await ensureDefaultOrganization(prisma);
  try {
    return await prisma.$transaction(async (tx) => {
      const spent = await tx.setupToken.updateMany({
        where: { tokenHash: hashToken(token), usedAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
      });
      if (spent.count !== 1) throw new OperatorError("TOKEN_INVALID", "This setup link was used already or has expired.");
      if ((await tx.operator.count()) > 0) throw new OperatorError("ALREADY_SET_UP", "StableFlow already has an admin: sign in instead.");
      await tx.organization.update({ where: { id: organization.id }, data: { name: input.organizationName } });
      const operator = await tx.operator.create({
        data: { organizationId: organization.id, email: input.email, name: input.name, role: "ADMIN", passwordHash },
        select: { id: true, organizationId: true, email: true, role: true },
      });
      await tx.auditLog.create({
        data: {
          organizationId: organization.id,
          actorType: "OPERATOR",
          actorId: operator.id,
          action: "operator.created_by_setup",
          entityType: "operator",
          entityId: operator.id,
          data: { role: "ADMIN" },
        },
      });
      return operator;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new OperatorError("EMAIL_TAKEN", "An operator with this e-mail address already exists.");
    throw error;
  }
}

// ------------------------------------------------------------------ acting inside an organization

/** The acting operator, as requireOperator returns it: everything below is scoped to its organization. */
export interface Actor {
  operatorId: string;
  organizationId: string;
  role: OperatorRole;
}

function audit(actor: Actor, action: string, entityType: string, entityId: string, data: Record<string, string> = {}) {
  return {
    organizationId: actor.organizationId,
    actorType: "OPERATOR" as const,
    actorId: actor.operatorId,
    action,
    entityType,
    entityId,
    data,
  };
}

export async function listTeam(prisma: PrismaClient, actor: Actor, now: Date = new Date()) {
  const [operators, invitations] = await Promise.all([
    prisma.operator.findMany({
      where: { organizationId: actor.organizationId },
      orderBy: [{ createdAt: "asc" }],
      select: {
        id: true,
        email: true,
        name: true,
        role: true,
        disabledAt: true,
        createdAt: true,
        sessions: {
          where: { revokedAt: null, expiresAt: { gt: now } },
          orderBy: { lastSeenAt: "desc" },
          select: { id: true, createdAt: true, lastSeenAt: true, ipAddress: true, userAgent: true },
        },
      },
    }),
    prisma.operatorInvitation.findMany({
      where: { organizationId: actor.organizationId, acceptedAt: null, revokedAt: null, expiresAt: { gt: now } },
      orderBy: { createdAt: "desc" },
      select: { id: true, email: true, role: true, expiresAt: true, createdAt: true, invitedBy: { select: { email: true } } },
    }),
  ]);
  return { operators, invitations };
}

/** An invitation to the actor's organization; returns the token, which is shown once and never stored. */
export async function inviteOperator(prisma: PrismaClient, actor: Actor, input: z.infer<typeof InvitationSchema>, now: Date = new Date()) {
  const taken = await prisma.operator.findFirst({ where: { email: { equals: input.email, mode: "insensitive" } }, select: { id: true } });
  if (taken) throw new OperatorError("EMAIL_TAKEN", "An operator with this e-mail address already exists.");
  const { token, tokenHash } = newToken();
  const invitation = await prisma.$transaction(async (tx) => {
    const created = await tx.operatorInvitation.create({
      data: {
        organizationId: actor.organizationId,
        email: input.email,
        role: input.role,
        tokenHash,
        invitedById: actor.operatorId,
        expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
      },
      select: { id: true, email: true, role: true, expiresAt: true },
    });
    await tx.auditLog.create({ data: audit(actor, "operator.invited", "operator_invitation", created.id, { email: input.email, role: input.role }) });
    return created;
  });
  return { invitation, token };
}

export async function revokeInvitation(prisma: PrismaClient, actor: Actor, invitationId: string, now: Date = new Date()): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const revoked = await tx.operatorInvitation.updateMany({
      where: { id: invitationId, organizationId: actor.organizationId, acceptedAt: null, revokedAt: null },
      data: { revokedAt: now },
    });
    if (revoked.count !== 1) throw new OperatorError("NOT_IN_ORGANIZATION", "There is no such open invitation in your organization.");
    await tx.auditLog.create({ data: audit(actor, "operator.invitation_revoked", "operator_invitation", invitationId) });
  });
}

/** The open invitation a link carries, or null (unknown, used, revoked or expired). */
export async function findOpenInvitation(prisma: PrismaClient, token: string, now: Date = new Date()) {
  if (!TOKEN_PATTERN.test(token)) return null;
  const invitation = await prisma.operatorInvitation.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { id: true, email: true, role: true, expiresAt: true, acceptedAt: true, revokedAt: true, organization: { select: { name: true } } },
  });
  if (!invitation || invitation.acceptedAt || invitation.revokedAt || invitation.expiresAt <= now) return null;
  return invitation;
}

/** Creates the invited operator and spends the invitation, once (a conditional update in the transaction). */
export async function acceptInvitation(
  prisma: PrismaClient,
  token: string,
  input: z.infer<typeof AcceptInvitationSchema>,
  options: { now?: Date; hashParams?: ScryptParams } = {},
) {
  const now = options.now ?? new Date();
  const invitation = await findOpenInvitation(prisma, token, now);
  if (!invitation) throw new OperatorError("TOKEN_INVALID", "This invitation was used already, withdrawn, or has expired.");
  const passwordHash = await hashPassword(input.password, options.hashParams);
  try {
    return await prisma.$transaction(async (tx) => {
      const open = await tx.operatorInvitation.findUniqueOrThrow({ where: { id: invitation.id }, select: { organizationId: true, email: true, role: true } });
      const operator = await tx.operator.create({
        data: { organizationId: open.organizationId, email: open.email, name: input.name, role: open.role, passwordHash },
        select: { id: true, organizationId: true, email: true, role: true },
      });
      const spent = await tx.operatorInvitation.updateMany({
        where: { id: invitation.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: now } },
        data: { acceptedAt: now, acceptedOperatorId: operator.id },
      });
      if (spent.count !== 1) throw new OperatorError("TOKEN_INVALID", "This invitation was used already, withdrawn, or has expired.");
      await tx.auditLog.create({
        data: {
          organizationId: open.organizationId,
          actorType: "OPERATOR",
          actorId: operator.id,
          action: "operator.joined",
          entityType: "operator",
          entityId: operator.id,
          data: { role: open.role, invitationId: invitation.id },
        },
      });
      return operator;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new OperatorError("EMAIL_TAKEN", "An operator with this e-mail address already exists.");
    throw error;
  }
}

/** Admins of the organization that could still sign in, other than `exceptId`. */
async function otherActiveAdmins(prisma: Pick<PrismaClient, "operator">, organizationId: string, exceptId: string): Promise<number> {
  return prisma.operator.count({ where: { organizationId, role: "ADMIN", disabledAt: null, id: { not: exceptId } } });
}

/** Changes an operator's role within the actor's organization; the last admin cannot be demoted. */
export async function changeRole(prisma: PrismaClient, actor: Actor, input: z.infer<typeof ChangeRoleSchema>): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const target = await tx.operator.findFirst({ where: { id: input.operatorId, organizationId: actor.organizationId }, select: { id: true, role: true } });
    if (!target) throw new OperatorError("NOT_IN_ORGANIZATION", "There is no such operator in your organization.");
    if (target.role === input.role) return;
    if (target.role === "ADMIN" && (await otherActiveAdmins(tx, actor.organizationId, target.id)) === 0) {
      throw new OperatorError("LAST_ADMIN", "This is the organization's only admin: make someone else admin first.");
    }
    await tx.operator.update({ where: { id: target.id }, data: { role: input.role } });
    await tx.auditLog.create({ data: audit(actor, "operator.role_changed", "operator", target.id, { from: target.role, to: input.role }) });
  });
}

/** Disables an operator of the actor's organization and ends every session it has. */
export async function disableOperator(prisma: PrismaClient, actor: Actor, operatorId: string, now: Date = new Date()): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const target = await tx.operator.findFirst({ where: { id: operatorId, organizationId: actor.organizationId }, select: { id: true, role: true, disabledAt: true } });
    if (!target) throw new OperatorError("NOT_IN_ORGANIZATION", "There is no such operator in your organization.");
    if (target.disabledAt) return;
    if (target.role === "ADMIN" && (await otherActiveAdmins(tx, actor.organizationId, target.id)) === 0) {
      throw new OperatorError("LAST_ADMIN", "This is the organization's only admin: make someone else admin first.");
    }
    await tx.operator.update({ where: { id: target.id }, data: { disabledAt: now } });
    await tx.operatorSession.updateMany({ where: { operatorId: target.id, revokedAt: null }, data: { revokedAt: now } });
    await tx.auditLog.create({ data: audit(actor, "operator.disabled", "operator", target.id) });
  });
}
