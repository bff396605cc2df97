// The first-run demo of a fresh embedded start: three clearly labelled demo recipients (their wallets'
// keys in the data directory, so a person can sign their verification challenges), and an active policy
// that splits every payment 70 / 20 / 10 (rounding left over stays in the treasury) and auto-approves
// runs below 1,000 sUSD, so the first purchase in the simulator becomes a settled split within seconds.
// Only on the embedded chain, never for an organization that already has a policy; STABLEFLOW_DEMO=false
// turns it off, and a real DATABASE_URL gets it only with STABLEFLOW_DEMO=true.
import { existsSync } from "node:fs";
import path from "node:path";
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { Keypair, type PublicKey } from "@solana/web3.js";
import { formatMoney } from "~/ledger/money";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { readKeypairFile, writeKeypairFile } from "~/settlement/keys.server";
import { getDatabase, type Database } from "~/utils/db.server";
import type { Env } from "~/utils/env.server";
import { log } from "~/utils/log.server";
import { ensurePrivateDir } from "~/utils/secret-files.server";
import { sql } from "~/utils/sql.server";
import { setPolicyAutoApproveBelow } from "./approvals.server";
import { ensureDefaultOrganization } from "./organizations.server";
import { activatePolicyVersion, createPolicyVersion } from "./policies.server";

export const DEMO_POLICY_NAME = "Demo split (embedded chain)";
/** Runs below this (1,000 sUSD in base units) are approved by the system. */
export const DEMO_AUTO_APPROVE_BELOW = 1_000_000_000n;

export const DEMO_RECIPIENTS = [
  { key: "artist", name: "Demo artist (70 %)", basisPoints: 7_000 },
  { key: "producer", name: "Demo producer (20 %)", basisPoints: 2_000 },
  { key: "label", name: "Demo label (10 %)", basisPoints: 1_000 },
] as const;

/** Whether this start gets the demo: embedded chain, and embedded database unless STABLEFLOW_DEMO says so. */
export function demoWanted(env: Pick<Env, "STABLEFLOW_DEMO" | "DATABASE_URL" | "SOLANA_RPC_URL">): boolean {
  if (env.SOLANA_RPC_URL) return false;
  return env.STABLEFLOW_DEMO ?? !env.DATABASE_URL;
}

async function demoWallet(dataDir: string, key: string): Promise<Keypair> {
  const dir = path.join(dataDir, "demo-wallets");
  await ensurePrivateDir(dir);
  const file = path.join(dir, `${key}.json`);
  if (existsSync(file)) return readKeypairFile(file);
  const wallet = Keypair.generate();
  await writeKeypairFile(file, wallet);
  return wallet;
}

export type DemoSeedResult = "seeded" | "present" | "skipped";

/**
 * Seeds the demo once for `organizationId` (a second start finds it and changes nothing). Skipped when
 * the organization already has an active policy of its own.
 */
export async function seedDemo(db: Database, args: { dataDir: string; organizationId: string; mint: PublicKey }): Promise<DemoSeedResult> {
  const [existing] = await db.query<{ demo: boolean }>(sql`
    SELECT p.name = ${DEMO_POLICY_NAME} AS demo FROM payout_policy_versions v JOIN payout_policies p ON p.id = v.policy_id
    WHERE v.organization_id = ${args.organizationId}::uuid AND v.status = 'ACTIVE'`);
  if (existing) return existing.demo ? "present" : "skipped";
  const recipientIds: string[] = [];
  for (const demo of DEMO_RECIPIENTS) {
    const wallet = await demoWallet(args.dataDir, demo.key);
    const tokenAccount = getAssociatedTokenAddressSync(args.mint, wallet.publicKey, false, TOKEN_PROGRAM_ID);
    const [row] = await db.query<{ id: string }>(sql`
      INSERT INTO recipients (organization_id, name, wallet_address, token_account)
      VALUES (${args.organizationId}::uuid, ${demo.name}, ${wallet.publicKey.toBase58()}, ${tokenAccount.toBase58()})
      ON CONFLICT (organization_id, wallet_address) DO UPDATE SET name = EXCLUDED.name
      RETURNING id`);
    recipientIds.push(row!.id);
  }
  const version = await createPolicyVersion(db.prisma, {
    organizationId: args.organizationId,
    policyName: DEMO_POLICY_NAME,
    rules: DEMO_RECIPIENTS.map((demo, i) => ({ recipientId: recipientIds[i]!, kind: "PERCENTAGE" as const, basisPoints: demo.basisPoints })),
  });
  await setPolicyAutoApproveBelow(db, { policyVersionId: version.id, below: DEMO_AUTO_APPROVE_BELOW });
  await activatePolicyVersion(db.prisma, { organizationId: args.organizationId, versionId: version.id });
  await db.query(sql`
    INSERT INTO audit_log (organization_id, actor_type, action, entity_type, entity_id, data)
    VALUES (${args.organizationId}::uuid, 'SYSTEM', 'demo.seeded', 'payout_policy_version', ${version.id},
            jsonb_build_object('recipients', ${DEMO_RECIPIENTS.length}::int, 'autoApproveBelow', ${DEMO_AUTO_APPROVE_BELOW.toString()}::text))`);
  log.info("demo seeded: three demo recipients and an auto-approving 70/20/10 policy", { organizationId: args.organizationId });
  return "seeded";
}

export interface DemoShowcase {
  recipients: { name: string; wallet: string }[];
  /** The newest payout run that pays something, with where to see it on chain. */
  latestRun: {
    id: string;
    status: string;
    total: string;
    createdAt: string;
    recipients: number;
    signatures: string[];
  } | null;
}

/** What the landing page shows of the demo, or null when this organization has no demo policy active. */
export async function demoShowcase(db: Pick<Database, "query">, organizationId: string): Promise<DemoShowcase | null> {
  const recipients = await db.query<{ name: string; wallet: string }>(sql`
    SELECT rc.name, rc.wallet_address AS wallet
    FROM payout_policy_versions v JOIN payout_policies p ON p.id = v.policy_id
    JOIN payout_rules r ON r.policy_version_id = v.id JOIN recipients rc ON rc.id = r.recipient_id
    WHERE v.organization_id = ${organizationId}::uuid AND v.status = 'ACTIVE' AND p.name = ${DEMO_POLICY_NAME}
    ORDER BY r.basis_points DESC`);
  if (recipients.length === 0) return null;
  const [run] = await db.query<{ id: string; status: string; total: string; created_at: string; recipients: number }>(sql`
    SELECT r.id, r.status::text AS status, r.total_transfers::text AS total, r.created_at::text AS created_at,
           (SELECT count(*)::int FROM payout_transfers t WHERE t.run_id = r.id) AS recipients
    FROM payout_runs r WHERE r.organization_id = ${organizationId}::uuid AND r.total_transfers > 0
    ORDER BY r.seq DESC LIMIT 1`);
  const signatures = run
    ? (
        await db.query<{ signature: string }>(sql`
          SELECT e.signature FROM split_batch_events e JOIN split_batches b ON b.id = e.batch_id
          WHERE b.run_id = ${run.id}::uuid AND e.status = 'CONFIRMED' ORDER BY b.batch_index`)
      ).map((row) => row.signature)
    : [];
  return {
    recipients,
    latestRun: run
      ? { id: run.id, status: run.status, total: formatMoney(BigInt(run.total), 6), createdAt: run.created_at, recipients: run.recipients, signatures }
      : null,
  };
}

/** The default organization's demo, for the landing page (null outside the embedded demo). */
export async function loadDemoShowcase(): Promise<DemoShowcase | null> {
  const db = await getDatabase();
  const organization = await ensureDefaultOrganization(db.prisma);
  return demoShowcase(db, organization.id);
}
