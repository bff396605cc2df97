// API keys of the operator API: created by an admin (console) or the operator CLI, shown once, stored as
// the sha256 of the key (a 238-bit random secret needs no slow hash: there is nothing to guess offline),
// named by a public prefix (`sf_live_` / `sf_test_` and 8 characters) that logs and secret scanners
// recognise, scoped `read` or `write`, organization-scoped like operators, revocable.
import { createHash, randomInt } from "node:crypto";
import { z } from "zod";
import type { ApiKeyScope, PrismaClient } from "~/generated/prisma/client";
import { isUniqueViolation } from "~/utils/db-errors.server";

export type { ApiKeyScope };
export const API_KEY_SCOPES = ["READ", "WRITE"] as const satisfies readonly ApiKeyScope[];

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const SECRET_LENGTH = 40;
/** The whole key: what `Authorization: Bearer` carries. */
export const API_KEY_PATTERN = /^sf_(live|test)_[A-Za-z0-9]{40}$/;
/** The part of a key that names it (public). */
export const API_KEY_PREFIX_PATTERN = /^sf_(live|test)_[A-Za-z0-9]{8}$/;
/** last_used_at is written at most this often per key, not on every request. */
const TOUCH_EVERY_MS = 60_000;

export type ApiKeyErrorCode = "API_KEY_NOT_FOUND" | "API_KEY_REVOKED" | "ORGANIZATION_NOT_FOUND";

export class ApiKeyError extends Error {
  constructor(
    readonly code: ApiKeyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ApiKeyError";
  }
}

export const ApiKeyNameSchema = z
  .string({ error: "Enter a name for the key." })
  .trim()
  .min(1, { error: "Enter a name for the key." })
  .max(200, { error: "Use at most 200 characters." });
export const ApiKeyScopeSchema = z.enum(API_KEY_SCOPES, { error: "Choose read or write." });
export const NewApiKeySchema = z.object({ name: ApiKeyNameSchema, scope: ApiKeyScopeSchema });

/** The principal behind an authenticated API request. */
export interface ApiPrincipal {
  apiKeyId: string;
  prefix: string;
  organizationId: string;
  scope: ApiKeyScope;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** `sf_live_` in production, `sf_test_` elsewhere: a key from a development database is never mistaken for a live one. */
export function apiKeyKind(env: { STABLEFLOW_ENV: string }): "live" | "test" {
  return env.STABLEFLOW_ENV === "production" ? "live" : "test";
}

function randomSecret(): string {
  let out = "";
  for (let i = 0; i < SECRET_LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export interface CreatedApiKey {
  id: string;
  /** The key itself: shown once, never stored. */
  key: string;
  prefix: string;
  name: string;
  scope: ApiKeyScope;
}

/** A new key of the organization; the caller shows `key` once. `createdById`: the admin (null from the CLI). */
export async function createApiKey(
  prisma: PrismaClient,
  args: { organizationId: string; name: string; scope: ApiKeyScope; createdById: string | null; kind: "live" | "test" },
): Promise<CreatedApiKey> {
  const { name, scope } = NewApiKeySchema.parse({ name: args.name, scope: args.scope });
  for (let attempt = 0; ; attempt++) {
    const key = `sf_${args.kind}_${randomSecret()}`;
    const prefix = key.slice(0, 16);
    try {
      const row = await prisma.$transaction(async (tx) => {
        const created = await tx.apiKey.create({
          data: { organizationId: args.organizationId, name, scope, prefix, tokenHash: hashApiKey(key), createdById: args.createdById },
        });
        await tx.auditLog.create({
          data: {
            organizationId: args.organizationId,
            actorType: args.createdById ? "OPERATOR" : "SYSTEM",
            actorId: args.createdById,
            action: "api_key.created",
            entityType: "api_key",
            entityId: created.id,
            data: { prefix, scope, name },
          },
        });
        return created;
      });
      return { id: row.id, key, prefix, name, scope };
    } catch (error) {
      // Two keys sharing their first 8 characters (1 in 2^47): draw another.
      if (isUniqueViolation(error) && attempt < 3) continue;
      throw error;
    }
  }
}

/** Creates a key for the organization named by `slug` (the operator CLI). */
export async function createApiKeyForOrganization(
  prisma: PrismaClient,
  args: { slug: string; name: string; scope: ApiKeyScope; kind: "live" | "test" },
): Promise<CreatedApiKey> {
  const organization = await prisma.organization.findUnique({ where: { slug: args.slug } });
  if (!organization) throw new ApiKeyError("ORGANIZATION_NOT_FOUND", `no organization with the slug ${args.slug}`);
  return createApiKey(prisma, { organizationId: organization.id, name: args.name, scope: args.scope, createdById: null, kind: args.kind });
}

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scope: ApiKeyScope;
  createdAt: Date;
  createdBy: string | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** The organization's keys, newest first (never the hash). */
export async function listApiKeys(prisma: PrismaClient, organizationId: string): Promise<ApiKeyView[]> {
  const rows = await prisma.apiKey.findMany({
    where: { organizationId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    select: { id: true, name: true, prefix: true, scope: true, createdAt: true, lastUsedAt: true, revokedAt: true, createdBy: { select: { email: true } } },
  });
  return rows.map(({ createdBy, ...row }) => ({ ...row, createdBy: createdBy?.email ?? null }));
}

/**
 * Revokes a key by id or prefix, within the organization when one is given (the console); the CLI may
 * name any key by its prefix. A revoked key answers 401 from its next request on. Revoking twice is refused.
 */
export async function revokeApiKey(
  prisma: PrismaClient,
  args: ({ id: string } | { prefix: string }) & { organizationId?: string; revokedById: string | null; now?: Date },
): Promise<ApiKeyView> {
  const where = "id" in args ? { id: args.id } : { prefix: args.prefix };
  return prisma.$transaction(async (tx) => {
    const key = await tx.apiKey.findFirst({ where: { ...where, ...(args.organizationId ? { organizationId: args.organizationId } : {}) } });
    if (!key) throw new ApiKeyError("API_KEY_NOT_FOUND", "no such API key");
    const revoked = await tx.apiKey.updateMany({ where: { id: key.id, revokedAt: null }, data: { revokedAt: args.now ?? new Date(), revokedById: args.revokedById } });
    if (revoked.count !== 1) throw new ApiKeyError("API_KEY_REVOKED", `the key ${key.prefix} is already revoked`);
    await tx.auditLog.create({
      data: {
        organizationId: key.organizationId,
        actorType: args.revokedById ? "OPERATOR" : "SYSTEM",
        actorId: args.revokedById,
        action: "api_key.revoked",
        entityType: "api_key",
        entityId: key.id,
        data: { prefix: key.prefix },
      },
    });
    const row = await tx.apiKey.findUniqueOrThrow({
      where: { id: key.id },
      select: { id: true, name: true, prefix: true, scope: true, createdAt: true, lastUsedAt: true, revokedAt: true, createdBy: { select: { email: true } } },
    });
    const { createdBy, ...rest } = row;
    return { ...rest, createdBy: createdBy?.email ?? null };
  });
}

/**
 * The live key a bearer token names, or null (malformed, unknown, revoked). The lookup is by the token's
 * sha256: no comparison of secret bytes that timing could reveal. Marks the key used (at most once a minute).
 */
export async function authenticateApiKey(prisma: PrismaClient, token: string, now: Date = new Date()): Promise<ApiPrincipal | null> {
  if (!API_KEY_PATTERN.test(token)) return null;
  const key = await prisma.apiKey.findUnique({
    where: { tokenHash: hashApiKey(token) },
    select: { id: true, prefix: true, organizationId: true, scope: true, revokedAt: true, lastUsedAt: true },
  });
  if (!key || key.revokedAt) return null;
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
    await prisma.apiKey.updateMany({
      where: { id: key.id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - TOUCH_EVERY_MS) } }] },
      data: { lastUsedAt: now },
    });
  }
  return { apiKeyId: key.id, prefix: key.prefix, organizationId: key.organizationId, scope: key.scope };
}
