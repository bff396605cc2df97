// A settlement world for tests: a database (PGlite in memory or on disk, or a throwaway PostgreSQL one),
// a treasury on the embedded chain (its own mint, funded vault, an authority that pays its own fees, as on
// a real cluster), recipients with wallets, READY runs of exact transfers, and executors in this process
// or as child processes (scripts/executor.mjs) to kill. Every chain call goes by URL through the app's
// own ChainClient, as the executor's do.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  AccountLayout,
  ACCOUNT_SIZE,
  MINT_SIZE,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToCheckedInstruction,
  getAssociatedTokenAddressSync,
} from "@solana/spl-token";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram } from "@solana/web3.js";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { approvePayoutRun, type ApprovalPolicy, type ApprovalResult } from "~/models/approvals.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import type { SettlementTarget } from "~/models/settlement.server";
import type { ChainSigners } from "~/settlement/chain-runtime.server";
import { ChainClient } from "~/settlement/chain.server";
import { openSettlementQueue, setSettlementQueue, type SettlementQueue } from "~/settlement/executor-queue.server";
import {
  setSettlementServices,
  settlementTarget,
  startExecutors,
  type ExecutorOptions,
  type RunningExecutors,
  type SettlementServices,
} from "~/settlement/executor-runtime.server";
import { PROGRAM_ID } from "~/settlement/program";
import { reconcileReport, type ReconcileReport } from "~/settlement/reconcile.server";
import { fundTreasury, initializeTreasury, treasuryIdentity, type TreasuryIdentity } from "~/settlement/treasury.server";
import { migrateDatabase, openDatabase } from "~/utils/db.server";
import { sql } from "~/utils/sql.server";
import { startAppServer, type AppServer } from "./app-server";
import type { TestChain } from "./chain";
import { pgliteTarget, postgresTarget, realPostgresUrl, type DatabaseTarget, type TestDatabase } from "./databases";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Embedded PGlite on disk, shared over its socket: what an executor process on PGlite connects to. */
export const pgliteDiskTarget: DatabaseTarget & { name: "pglite" } = {
  name: "pglite",
  async create() {
    const dir = mkdtempSync(path.join(os.tmpdir(), "sf-pg-"));
    const db = await openDatabase({ dataDir: dir });
    await migrateDatabase(db);
    return Object.assign(db, {
      dataDir: dir,
      async destroy() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
};

/** Where executor child processes can reach the ledger: PostgreSQL when configured, else PGlite on disk. */
export function processDatabaseTargets(): DatabaseTarget[] {
  return realPostgresUrl() ? [postgresTarget] : [pgliteDiskTarget];
}

export { pgliteTarget, postgresTarget };

export interface TestRecipient {
  id: string;
  wallet: Keypair;
  tokenAccount: PublicKey;
}

export interface SettlementWorld {
  db: TestDatabase & { dataDir?: string };
  chain: TestChain;
  client: ChainClient;
  organizationId: string;
  authority: Keypair;
  signers: ChainSigners;
  mint: PublicKey;
  identity: TreasuryIdentity;
  target: SettlementTarget;
  /** A key file of the authority, for executor processes (STABLEFLOW_AUTHORITY_KEYPAIR). */
  authorityFile: string;
  operatorIds: string[];
  workDir: string;
  /** Recipients with wallets; their associated token accounts exist only when `withTokenAccounts`. */
  addRecipients(n: number, options?: { withTokenAccounts?: boolean }): Promise<TestRecipient[]>;
  /** A READY run (kind SWEEP) paying exactly these amounts. */
  createRun(transfers: readonly { recipient: TestRecipient; amount: bigint }[], options?: { policyVersionId?: string }): Promise<string>;
  /** Approves as the world's first operator, on `queue` (default: the process's). */
  approve(runId: string, queue: SettlementQueue): Promise<ApprovalResult>;
  /** Switches the world to a new mint and treasury (funded like the first): no lookup table exists for it yet. */
  newTreasury(): Promise<void>;
  tokenBalances(accounts: readonly PublicKey[]): Promise<bigint[]>;
  vaultBalance(): Promise<bigint>;
  runStatus(runId: string): Promise<string>;
  waitForRun(runId: string, statuses: readonly string[], timeoutMs?: number): Promise<string>;
  report(runIds?: string[]): Promise<ReconcileReport>;
  destroy(): Promise<void>;
}

/** A new mint (6 decimals, the authority its mint and freeze authority) and a treasury of it, funded. */
async function createFundedTreasury(client: ChainClient, authority: Keypair, organizationId: string, funding: bigint) {
  const mintKey = Keypair.generate();
  const mint = mintKey.publicKey;
  const rent = await client.read("rent", (c) => c.getMinimumBalanceForRentExemption(MINT_SIZE));
  const source = getAssociatedTokenAddressSync(mint, authority.publicKey, true, TOKEN_PROGRAM_ID);
  await client.sendInstructions(
    [
      SystemProgram.createAccount({ fromPubkey: authority.publicKey, newAccountPubkey: mint, lamports: rent, space: MINT_SIZE, programId: TOKEN_PROGRAM_ID }),
      createInitializeMint2Instruction(mint, 6, authority.publicKey, authority.publicKey, TOKEN_PROGRAM_ID),
      createAssociatedTokenAccountIdempotentInstruction(authority.publicKey, source, authority.publicKey, mint, TOKEN_PROGRAM_ID),
      createMintToCheckedInstruction(mint, source, authority.publicKey, funding, 6, [], TOKEN_PROGRAM_ID),
    ],
    authority,
    [mintKey],
  );
  const identity = treasuryIdentity({ programId: PROGRAM_ID, mint, seedAuthority: authority.publicKey, organizationId });
  await initializeTreasury(client, { identity, authority, feePayer: authority });
  await fundTreasury(client, { identity, authority, feePayer: authority, amount: funding });
  return { mint, identity };
}

async function confirmAirdrop(client: ChainClient, to: PublicKey, sol: number): Promise<void> {
  const signature = await client.read("requestAirdrop", (c) => c.requestAirdrop(to, sol * LAMPORTS_PER_SOL));
  await client.confirmSignature(signature);
}

/**
 * A fresh world on `target` and `chain`: treasury initialized and funded with `funding` base units, one
 * admin operator. `distinctFeePayer` makes fees and rent come from a second key (as the embedded runtime
 * does); default: the authority pays (as on a real cluster, and as executor processes are configured).
 */
export async function createSettlementWorld(args: {
  target: DatabaseTarget;
  chain: TestChain;
  funding?: bigint;
  distinctFeePayer?: boolean;
  rpcUrl?: string;
}): Promise<SettlementWorld> {
  const db = (await args.target.create()) as SettlementWorld["db"];
  const client = new ChainClient({ mode: "rpc", rpcUrl: args.rpcUrl ?? args.chain.url, displayUrl: args.chain.url, programId: PROGRAM_ID });
  const organizationId = (await ensureDefaultOrganization(db.prisma)).id;
  const authority = Keypair.generate();
  const feePayer = args.distinctFeePayer ? Keypair.generate() : authority;
  await confirmAirdrop(client, authority.publicKey, 500);
  if (args.distinctFeePayer) await confirmAirdrop(client, feePayer.publicKey, 500);
  const funding = args.funding ?? 10_000_000_000_000n;
  const { mint, identity } = await createFundedTreasury(client, authority, organizationId, funding);
  const signers: ChainSigners = { authority, feePayer };
  const workDir = mkdtempSync(path.join(os.tmpdir(), "sf-settle-"));
  const authorityFile = path.join(workDir, "authority.json");
  writeFileSync(authorityFile, JSON.stringify(Array.from(authority.secretKey)), { mode: 0o600 });
  const operator = await db.prisma.operator.create({
    data: { organizationId, email: `ops-${randomBytes(4).toString("hex")}@example.test`, name: "Ops", role: "ADMIN", passwordHash: "scrypt$test" },
  });
  const target = settlementTarget(identity, signers);

  const world: SettlementWorld = {
    db,
    chain: args.chain,
    client,
    organizationId,
    authority,
    signers,
    mint,
    identity,
    target,
    authorityFile,
    operatorIds: [operator.id],
    workDir,
    async addRecipients(n, options = {}) {
      const recipients: TestRecipient[] = Array.from({ length: n }, () => {
        const wallet = Keypair.generate();
        return { id: randomUUID(), wallet, tokenAccount: getAssociatedTokenAddressSync(world.mint, wallet.publicKey, false, TOKEN_PROGRAM_ID) };
      });
      await db.prisma.recipient.createMany({
        data: recipients.map((r, i) => ({
          id: r.id,
          organizationId,
          name: `Recipient ${i}`,
          walletAddress: r.wallet.publicKey.toBase58(),
          tokenAccount: r.tokenAccount.toBase58(),
        })),
      });
      if (options.withTokenAccounts) {
        for (let i = 0; i < recipients.length; i += 8) {
          await client.sendInstructions(
            recipients
              .slice(i, i + 8)
              .map((r) => createAssociatedTokenAccountIdempotentInstruction(authority.publicKey, r.tokenAccount, r.wallet.publicKey, world.mint, TOKEN_PROGRAM_ID)),
            authority,
          );
        }
      }
      return recipients;
    },
    async createRun(transfers, options = {}) {
      const total = transfers.reduce((sum, t) => sum + t.amount, 0n);
      const [run] = await db.query<{ id: string }>(sql`
        INSERT INTO payout_runs (organization_id, kind, status, policy_version_id, token_decimals, distributable, total_transfers, treasury_remainder)
        VALUES (${organizationId}::uuid, 'SWEEP', 'READY', ${options.policyVersionId ?? null}::uuid, 6, ${total}::bigint, ${total}::bigint, 0)
        RETURNING id`);
      const rows = transfers.map((t) => ({ recipient_id: t.recipient.id, token_account: t.recipient.tokenAccount.toBase58(), amount: t.amount.toString() }));
      await db.query(sql`
        INSERT INTO payout_transfers (run_id, recipient_id, token_account, amount)
        SELECT ${run!.id}::uuid, x.recipient_id, x.token_account, x.amount
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(recipient_id uuid, token_account text, amount bigint)`);
      return run!.id;
    },
    approve(runId, queue) {
      return approvePayoutRun(db, queue, world.target, { runId, actor: { type: "OPERATOR", operatorId: operator.id } });
    },
    async newTreasury() {
      const next = await createFundedTreasury(client, authority, organizationId, funding);
      world.mint = next.mint;
      world.identity = next.identity;
      world.target = settlementTarget(next.identity, signers);
    },
    async tokenBalances(accounts) {
      const out: bigint[] = [];
      for (let i = 0; i < accounts.length; i += 100) {
        const infos = await client.read("balances", (c) => c.getMultipleAccountsInfo(accounts.slice(i, i + 100), "confirmed"));
        for (const info of infos) out.push(info && info.data.length >= ACCOUNT_SIZE ? BigInt(AccountLayout.decode(info.data.subarray(0, ACCOUNT_SIZE)).amount.toString()) : 0n);
      }
      return out;
    },
    async vaultBalance() {
      return (await world.tokenBalances([world.identity.vault]))[0]!;
    },
    async runStatus(runId) {
      const [row] = await db.query<{ status: string }>(sql`SELECT status::text AS status FROM payout_runs WHERE id = ${runId}::uuid`);
      return row!.status;
    },
    async waitForRun(runId, statuses, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await world.runStatus(runId);
        if (statuses.includes(status)) return status;
        if (Date.now() > deadline) throw new Error(`run ${runId} is ${status} after ${timeoutMs} ms, not ${statuses.join(" or ")}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    report(runIds) {
      return reconcileReport(db, client, { programId: PROGRAM_ID, runIds, treasuries: [world.identity.treasury.toBase58()] });
    },
    async destroy() {
      await db.destroy();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Options that make tests quick: short leases and polls, a reconciliation every second. */
export const FAST_EXECUTOR: ExecutorOptions = {
  leaseMs: 4_000,
  resendMs: 500,
  pollMs: 50,
  attemptDeadlineMs: 60_000,
  reconcileIntervalMs: 1_000,
  pollingIntervalSeconds: 0.5,
};

/** Executors in this process on the world's database (queue opened for them, closed by stop()). */
export async function startTestExecutors(world: SettlementWorld, options: ExecutorOptions & { rpcUrl?: string } = {}): Promise<RunningExecutors> {
  // A client of its own when the executors go through another URL (a fault proxy).
  const client = options.rpcUrl
    ? new ChainClient({ mode: "rpc", rpcUrl: options.rpcUrl, displayUrl: options.rpcUrl, programId: PROGRAM_ID }, { retry: { attempts: 8, maxDelayMs: 2_000 } })
    : world.client;
  return startExecutors(
    world.db,
    { client, signers: world.signers, target: world.target },
    { ...FAST_EXECUTOR, queueConnectionString: world.db.url, queueOwnerConnectionString: world.db.migrationUrl, ...options },
  );
}

/** The process's queue without executors (for approving in a test that runs executors elsewhere). */
export async function openTestQueue(world: SettlementWorld): Promise<SettlementQueue> {
  const queue = await openSettlementQueue(world.db, { connectionString: world.db.url, ownerConnectionString: world.db.migrationUrl, pollingIntervalSeconds: 0.5 });
  setSettlementQueue(queue);
  return queue;
}

export interface ExecutorProcess {
  readonly pid: number;
  readonly holder: Promise<string>;
  /** Resolves with the exit signal or code. */
  readonly exited: Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<string>;
  output(): string;
}

/** An executor child process (scripts/executor.mjs) on the world's database and chain. */
export function spawnExecutor(world: SettlementWorld, options: { crashPoint?: string; crashAfter?: number; env?: Record<string, string>; rpcUrl?: string } = {}): ExecutorProcess {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    STABLEFLOW_ENV: "test",
    LOG_LEVEL: "warn",
    SOLANA_RPC_URL: options.rpcUrl ?? world.chain.url,
    STABLEFLOW_MINT: world.mint.toBase58(),
    STABLEFLOW_AUTHORITY_KEYPAIR: world.authorityFile,
    STABLEFLOW_EXECUTOR_LEASE_MS: String(FAST_EXECUTOR.leaseMs),
    STABLEFLOW_EXECUTOR_RECONCILE_MS: String(FAST_EXECUTOR.reconcileIntervalMs),
    STABLEFLOW_EXECUTOR_POLL_SECONDS: String(FAST_EXECUTOR.pollingIntervalSeconds),
    STABLEFLOW_EXECUTOR_RESEND_MS: String(FAST_EXECUTOR.resendMs),
    ...(world.db.url ? { DATABASE_URL: world.db.url } : { STABLEFLOW_DATA_DIR: world.db.dataDir! }),
    ...(world.db.migrationUrl ? { DATABASE_MIGRATION_URL: world.db.migrationUrl } : {}),
    ...(options.crashPoint ? { STABLEFLOW_CRASH_POINT: options.crashPoint, STABLEFLOW_CRASH_AFTER: String(options.crashAfter ?? 1) } : {}),
    ...options.env,
  };
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "scripts/executor.mjs")], { cwd: ROOT, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe", "ipc"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += String(chunk)));
  child.stderr!.on("data", (chunk) => (output += String(chunk)));
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  const holder = new Promise<string>((resolve, reject) => {
    child.on("message", (message: { type?: string; holder?: string }) => {
      if (message?.type === "stableflow-executor-ready") resolve(message.holder!);
    });
    void exited.then((how) => reject(new Error(`executor exited (${how}) before it was ready:\n${output}`)));
  });
  holder.catch(() => undefined);
  return {
    pid: child.pid!,
    holder,
    exited,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    output: () => output,
  };
}

export interface ServedSettlement {
  server: AppServer;
  queue: SettlementQueue;
  /** Executors in this process on the served queue (none run until this is called). */
  startExecutors(options?: ExecutorOptions): Promise<RunningExecutors>;
  close(): Promise<void>;
}

/**
 * The app's production build served over the world's database, with the world's settlement installed as
 * the process's (queue, target, chain, approval policy), as boot installs it: the console's run pages and
 * actions work against the embedded chain. Executors start only when the test says so.
 */
export async function serveSettlementWorld(world: SettlementWorld, options: { policy?: ApprovalPolicy } = {}): Promise<ServedSettlement> {
  const queue = await openTestQueue(world);
  const services: SettlementServices = {
    mode: "inline",
    count: 0,
    queue,
    target: world.target,
    chain: { client: world.client, signers: world.signers },
    maxPriorityFee: 100_000n,
    policy: options.policy ?? {},
    onRunsCompiled: () => undefined,
    stop: async () => undefined,
  };
  setSettlementServices(services);
  const server = await startAppServer(world.db);
  const running: RunningExecutors[] = [];
  return {
    server,
    queue,
    async startExecutors(executorOptions = {}) {
      const executors = await startTestExecutors(world, executorOptions);
      running.push(executors);
      return executors;
    },
    async close() {
      for (const executors of running) await executors.stop();
      await server.close();
      setSettlementServices(undefined);
      await queue.stop();
      setSettlementQueue(undefined);
    },
  };
}
