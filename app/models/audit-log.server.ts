// The audit trail of one organization for the console: filtered by action, actor, subject and date range,
// newest first, in pages keyed by the line's id (a page never shifts when new lines arrive). Lines of
// other organizations and lines with no organization are never read: every query carries the scope.
import { z } from "zod";
import type { AuditActor, Prisma, PrismaClient } from "~/generated/prisma/client";
import { localDayStart } from "~/ledger/payout-schedule";
import { auditEntityLabels } from "./audit-labels.server";

export const AUDIT_PAGE_SIZE = 50;
const ACTOR_TYPES = ["SYSTEM", "OPERATOR", "WEBHOOK", "CUSTOMER"] as const satisfies readonly AuditActor[];

const optionalText = (max: number, message: string) =>
  z
    .string()
    .trim()
    .max(max, message)
    .optional()
    .transform((v) => (v ? v : undefined));
const optionalDay = optionalText(10, "Give a date as YYYY-MM-DD.").refine((v) => v === undefined || /^\d{4}-\d{2}-\d{2}$/.test(v), "Give a date as YYYY-MM-DD.");

/** The filter form's fields, as the query string carries them. */
export const AuditFilterSchema = z
  .object({
    action: optionalText(100, "An action name is at most 100 characters."),
    // "OPERATOR:<id>" for one operator, or one of the actor types
    actor: optionalText(60, "Choose an actor from the list.").refine(
      (v) => v === undefined || (ACTOR_TYPES as readonly string[]).includes(v) || /^OPERATOR:[0-9a-f-]{36}$/.test(v),
      "Choose an actor from the list.",
    ),
    subject: optionalText(200, "A subject is at most 200 characters."),
    from: optionalDay,
    to: optionalDay,
    before: optionalText(20, "Not a page of this log.").refine((v) => v === undefined || /^\d{1,19}$/.test(v), "Not a page of this log."),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, { path: ["to"], message: "The end date must not be before the start date." });

export type AuditFilter = z.infer<typeof AuditFilterSchema>;
export type AuditFilterErrors = Partial<Record<keyof AuditFilter, string>>;

export function parseAuditFilter(params: URLSearchParams): { ok: true; filter: AuditFilter } | { ok: false; errors: AuditFilterErrors; raw: Record<string, string> } {
  const raw = Object.fromEntries(["action", "actor", "subject", "from", "to", "before"].flatMap((k) => (params.has(k) ? [[k, params.get(k)!]] : [])));
  const parsed = AuditFilterSchema.safeParse(raw);
  if (parsed.success) return { ok: true, filter: parsed.data };
  const errors: AuditFilterErrors = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path[0] as keyof AuditFilter;
    errors[field] ??= issue.message;
  }
  return { ok: false, errors, raw };
}

function dayAfter(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! + 1)).toISOString().slice(0, 10);
}

export interface AuditLine {
  id: string;
  createdAt: string;
  action: string;
  actorType: AuditActor;
  /** The operator's name and e-mail when an operator of this organization acted. */
  actor: string;
  entityType: string;
  entityId: string;
  /** The subject as every page names it (a payment: Dodo's id with our short id, app/utils/identifiers.ts). */
  subject: string;
  /** The line's data as compact JSON (cut at 400 characters). */
  data: string;
}

export interface AuditPage {
  lines: AuditLine[];
  /** The `before` of the next (older) page, or null at the end. */
  olderBefore: string | null;
  /** What the filter's selects offer: this organization's actions and operators. */
  actions: string[];
  operators: { id: string; label: string }[];
}

/** One page of the organization's audit lines matching `filter`, newest first. */
export async function listAuditLog(prisma: PrismaClient, organizationId: string, filter: Partial<AuditFilter>, timeZone: string, pageSize = AUDIT_PAGE_SIZE): Promise<AuditPage> {
  const where: Prisma.AuditLogWhereInput = { organizationId };
  if (filter.action) where.action = filter.action;
  if (filter.actor?.startsWith("OPERATOR:")) Object.assign(where, { actorType: "OPERATOR", actorId: filter.actor.slice("OPERATOR:".length) });
  else if (filter.actor) where.actorType = filter.actor as AuditActor;
  if (filter.subject) {
    // "payment pay_123" (type and id, as the page shows them) or an id or the start of one. A payment's lines
    // name it by our id; Dodo's id (what the page shows, app/utils/identifiers.ts) finds them too.
    const [first, ...rest] = filter.subject.split(/\s+/);
    // A label pasted whole ("pay_123 · #1a2b3c4d") is searched by its Dodo id.
    const id = (rest.length > 0 ? rest.join(" ") : first!).split(" · ")[0]!;
    const payment = await prisma.payment.findFirst({ where: { organizationId, dodoPaymentId: id }, select: { id: true } });
    const idMatch: Prisma.AuditLogWhereInput = payment
      ? { OR: [{ entityId: { startsWith: id } }, { entityId: payment.id }] }
      : { entityId: { startsWith: id } };
    where.AND = rest.length > 0 ? [{ entityType: first }, idMatch] : [idMatch];
  }
  const createdAt: Prisma.DateTimeFilter = {};
  if (filter.from) createdAt.gte = localDayStart(filter.from, timeZone);
  if (filter.to) createdAt.lt = localDayStart(dayAfter(filter.to), timeZone);
  if (filter.from || filter.to) where.createdAt = createdAt;
  if (filter.before) where.id = { lt: BigInt(filter.before) };
  const [rows, actions, operators] = await Promise.all([
    prisma.auditLog.findMany({ where, orderBy: { id: "desc" }, take: pageSize + 1 }),
    prisma.auditLog.groupBy({ by: ["action"], where: { organizationId }, orderBy: { action: "asc" } }),
    prisma.operator.findMany({ where: { organizationId }, select: { id: true, name: true, email: true }, orderBy: { name: "asc" } }),
  ]);
  const page = rows.slice(0, pageSize);
  const subjects = await auditEntityLabels(prisma, organizationId, page);
  const names = new Map(operators.map((o) => [o.id, `${o.name} <${o.email}>`]));
  return {
    lines: page.map((row, index) => {
      const json = JSON.stringify(row.data, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
      return {
        id: row.id.toString(),
        createdAt: row.createdAt.toISOString(),
        action: row.action,
        actorType: row.actorType,
        actor: row.actorType === "OPERATOR" ? (names.get(row.actorId ?? "") ?? `operator ${row.actorId ?? "(unknown)"}`) : row.actorType.toLowerCase(),
        entityType: row.entityType,
        entityId: row.entityId,
        subject: subjects[index]!,
        data: json === "{}" ? "" : json.length > 400 ? `${json.slice(0, 399)}…` : json,
      };
    }),
    olderBefore: rows.length > pageSize ? page[page.length - 1]!.id.toString() : null,
    actions: actions.map((a) => a.action),
    operators: operators.map((o) => ({ id: o.id, label: names.get(o.id)! })),
  };
}
