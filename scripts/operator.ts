// `npm run operator -- <command>`: operator accounts from the command line, for the first admin and for
// when nobody can sign in. Works while `npm start` runs, on PostgreSQL and on the embedded database alike
// (there through the server's socket, decision 011). The password is read from a prompt or from stdin,
// never from an argument (arguments end up in shell history and `ps`).
//
//   create --org <slug> --email <e> --role admin|operator|viewer [--name <name>] [--org-name <name>]
//   list [--org <slug>]
//   disable --email <e>
//   sessions revoke --email <e>
//   api-key create --org <slug> --scope read|write [--name <name>]   (prints the key once, on stdout)
//   api-key revoke <prefix>
//   api-key list [--org <slug>]
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { z } from "zod";
import { apiKeyKind, ApiKeyError, API_KEY_PREFIX_PATTERN, ApiKeyNameSchema, ApiKeyScopeSchema, createApiKeyForOrganization, revokeApiKey } from "../app/models/api-keys.server";
import { revokeAllSessions } from "../app/models/operator-sessions.server";
import { createOperator, EmailSchema, NameSchema, OperatorError, RoleSchema } from "../app/models/operators.server";
import { migrateDatabase, openDatabase, type Database } from "../app/utils/db.server";
import { ConfigError, getEnv } from "../app/utils/env.server";
import { PasswordSchema } from "../app/utils/passwords.server";

const USAGE = `usage: npm run operator -- <command>
  create --org <slug> --email <address> --role admin|operator|viewer [--name <name>] [--org-name <name>]
         (the password is asked for, or read from the first line of stdin)
  list [--org <slug>]
  disable --email <address>
  sessions revoke --email <address>
  api-key create --org <slug> --scope read|write [--name <name>]   (prints the new key once)
  api-key revoke <prefix>                                           (sf_live_XXXXXXXX or sf_test_XXXXXXXX)
  api-key list [--org <slug>]`;

class UsageError extends Error {}

const SlugSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: "--org: lower-case letters, digits and dashes" });

function parse<T>(schema: z.ZodType<T>, value: unknown, flag: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`${flag}: ${result.error.issues[0]?.message ?? "invalid"}`);
  return result.data;
}

/** Reads a line without echoing it (a terminal), or the first line of stdin (a pipe). */
async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text.split(/\r?\n/)[0] ?? "";
  }
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const output = rl as unknown as { _writeToOutput: (s: string) => void };
    let prompted = false;
    output._writeToOutput = (s: string) => {
      // Only the prompt is written; the typed characters are not echoed.
      if (!prompted) {
        process.stderr.write(s);
        prompted = true;
      }
    };
    rl.question(prompt, (answer) => {
      process.stderr.write("\n");
      rl.close();
      resolve(answer);
    });
  });
}

async function newPassword(): Promise<string> {
  const password = await readPassword("Password (at least 12 characters): ");
  const checked = PasswordSchema.safeParse(password);
  if (!checked.success) throw new UsageError(`password: ${checked.error.issues[0]?.message}`);
  if (process.stdin.isTTY && (await readPassword("Repeat the password: ")) !== password) throw new UsageError("password: the two passwords differ");
  return password;
}

async function create(db: Database, values: Record<string, string | undefined>): Promise<void> {
  const slug = parse(SlugSchema, values.org, "--org");
  const email = parse(EmailSchema, values.email, "--email");
  const role = parse(RoleSchema, values.role?.toUpperCase(), "--role");
  const name = parse(NameSchema, values.name ?? email.split("@")[0], "--name");
  const password = await newPassword();
  const prisma = db.prisma;
  let organization = await prisma.organization.findUnique({ where: { slug } });
  if (!organization) {
    organization = await prisma.organization.create({ data: { slug, name: parse(NameSchema, values["org-name"] ?? slug, "--org-name") } });
    console.log(`created organization ${slug}`);
  }
  const operator = await createOperator(prisma, { organizationId: organization.id, email, name, role, password });
  await prisma.auditLog.create({
    data: { organizationId: organization.id, actorType: "SYSTEM", actorId: "cli", action: "operator.created_by_cli", entityType: "operator", entityId: operator.id, data: { role } },
  });
  console.log(`created ${role.toLowerCase()} ${email} in ${slug}; sign in at /login`);
}

async function list(db: Database, values: Record<string, string | undefined>): Promise<void> {
  const slug = values.org ? parse(SlugSchema, values.org, "--org") : undefined;
  const now = new Date();
  const operators = await db.prisma.operator.findMany({
    where: slug ? { organization: { slug } } : {},
    orderBy: [{ organizationId: "asc" }, { createdAt: "asc" }],
    select: {
      email: true,
      role: true,
      disabledAt: true,
      organization: { select: { slug: true } },
      _count: { select: { sessions: { where: { revokedAt: null, expiresAt: { gt: now } } } } },
    },
  });
  if (operators.length === 0) {
    console.log("no operator yet: create one with `npm run operator -- create --org default --email <e> --role admin`");
    return;
  }
  for (const o of operators) {
    console.log([o.organization.slug, o.email, o.role.toLowerCase(), o.disabledAt ? "disabled" : "active", `${o._count.sessions} session(s)`].join("\t"));
  }
}

async function findByEmail(db: Database, value: string | undefined) {
  const email = parse(EmailSchema, value, "--email");
  const operator = await db.prisma.operator.findFirst({ where: { email: { equals: email, mode: "insensitive" } }, select: { id: true, email: true, organizationId: true } });
  if (!operator) throw new UsageError(`--email: no operator has the address ${email}`);
  return operator;
}

async function disable(db: Database, values: Record<string, string | undefined>): Promise<void> {
  const operator = await findByEmail(db, values.email);
  const now = new Date();
  await db.prisma.operator.updateMany({ where: { id: operator.id, disabledAt: null }, data: { disabledAt: now } });
  const ended = await revokeAllSessions(db.prisma, operator.id, now);
  await db.prisma.auditLog.create({
    data: { organizationId: operator.organizationId, actorType: "SYSTEM", actorId: "cli", action: "operator.disabled", entityType: "operator", entityId: operator.id, data: {} },
  });
  console.log(`disabled ${operator.email}; ${ended} session(s) ended`);
}

async function revokeSessions(db: Database, values: Record<string, string | undefined>): Promise<void> {
  const operator = await findByEmail(db, values.email);
  const ended = await revokeAllSessions(db.prisma, operator.id);
  await db.prisma.auditLog.create({
    data: { organizationId: operator.organizationId, actorType: "SYSTEM", actorId: "cli", action: "operator.sessions_revoked", entityType: "operator", entityId: operator.id, data: { count: String(ended) } },
  });
  console.log(`${ended} session(s) of ${operator.email} ended`);
}

async function createKey(db: Database, values: Record<string, string | undefined>): Promise<void> {
  const slug = parse(SlugSchema, values.org, "--org");
  const scope = parse(ApiKeyScopeSchema, values.scope?.toUpperCase(), "--scope");
  const name = parse(ApiKeyNameSchema, values.name ?? `${scope.toLowerCase()} key from the CLI`, "--name");
  const created = await createApiKeyForOrganization(db.prisma, { slug, name, scope, kind: apiKeyKind(getEnv()) });
  // The key alone on stdout (for `$(...)`), the words about it on stderr. It is never shown again.
  console.error(`created ${scope.toLowerCase()} key ${created.prefix}… for ${slug}; this is the only time it is shown:`);
  console.log(created.key);
}

async function revokeKey(db: Database, _values: Record<string, string | undefined>, args: string[]): Promise<void> {
  const prefix = parse(z.string().regex(API_KEY_PREFIX_PATTERN, { error: "give the key's prefix, e.g. sf_live_AbCd1234 (its first 16 characters)" }), args[0]?.replace(/…$/, ""), "prefix");
  const revoked = await revokeApiKey(db.prisma, { prefix, revokedById: null });
  console.log(`revoked ${revoked.prefix} (${revoked.name}); requests with it are refused from now on`);
}

async function listKeys(db: Database, values: Record<string, string | undefined>): Promise<void> {
  const slug = values.org ? parse(SlugSchema, values.org, "--org") : undefined;
  const keys = await db.prisma.apiKey.findMany({
    where: slug ? { organization: { slug } } : {},
    orderBy: [{ organizationId: "asc" }, { createdAt: "asc" }],
    select: { prefix: true, name: true, scope: true, lastUsedAt: true, revokedAt: true, organization: { select: { slug: true } } },
  });
  if (keys.length === 0) console.log("no API key yet: create one with `npm run operator -- api-key create --org <slug> --scope read`");
  for (const k of keys) {
    console.log([k.organization.slug, k.prefix, k.scope.toLowerCase(), k.revokedAt ? "revoked" : "active", k.lastUsedAt ? `last used ${k.lastUsedAt.toISOString()}` : "never used", k.name].join("\t"));
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      org: { type: "string" },
      email: { type: "string" },
      role: { type: "string" },
      name: { type: "string" },
      "org-name": { type: "string" },
      password: { type: "string" },
      scope: { type: "string" },
    },
    strict: true,
  });
  if (values.password !== undefined) throw new UsageError("--password is not accepted: arguments are visible to other users and kept in shell history; type it at the prompt or pipe it on stdin");
  // `api-key revoke <prefix>` takes its argument positionally: the rest of the words name the command.
  const takesArgument = positionals[0] === "api-key" && positionals[1] === "revoke";
  const command = (takesArgument ? positionals.slice(0, 2) : positionals).join(" ");
  const args = takesArgument ? positionals.slice(2) : [];
  if (takesArgument && args.length !== 1) throw new UsageError("api-key revoke takes one prefix");
  const commands: Record<string, (db: Database, values: Record<string, string | undefined>, args: string[]) => Promise<void>> = {
    create,
    list,
    disable,
    "sessions revoke": revokeSessions,
    "api-key create": createKey,
    "api-key revoke": revokeKey,
    "api-key list": listKeys,
  };
  const run = commands[command];
  if (!run) throw new UsageError(command ? `unknown command: ${command}` : "no command");
  const env = getEnv();
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.STABLEFLOW_DATA_DIR, whenHeld: "connect" });
  try {
    // A fresh embedded directory (no server ever started) gets its tables here; PostgreSQL is migrated
    // by the server at boot or by `npm run db:migrate`, with the migration role.
    if (!env.DATABASE_URL) await migrateDatabase(db);
    await run(db, values, args);
  } finally {
    await db.close();
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || (error as Error).name === "TypeError" && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    console.error(`stableflow operator: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (error instanceof OperatorError || error instanceof ApiKeyError || error instanceof ConfigError || (error as Error).name === "DataDirInUseError") {
    console.error(`stableflow operator: ${(error as Error).message}`);
    process.exit(1);
  }
  console.error(`stableflow operator: failed: ${(error as Error).message}`);
  process.exit(1);
}
