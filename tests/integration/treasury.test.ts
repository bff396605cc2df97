// The treasury on a real SVM behind the embedded JSON-RPC server, reached only by URL through the app's
// chain client: the embedded bootstrap happens once, a treasury under someone else's authority is
// refused, and the operator's commands (npm run treasury) init, fund, report and withdraw with exact
// amounts, refusing what they must with a sentence.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  ExtensionType,
  TOKEN_2022_PROGRAM_ID,
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createInitializeMintCloseAuthorityInstruction,
  createMintToCheckedInstruction,
  getAssociatedTokenAddressSync,
  getMintLen,
  MINT_SIZE,
} from "@solana/spl-token";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_PROGRAM_ID } from "~/ledger/wallet";
import { ChainClient } from "~/settlement/chain.server";
import { loadOrCreateEmbeddedKeys } from "~/settlement/keys.server";
import { PROGRAM_ID, setAuthorityInstruction } from "~/settlement/program";
import { runTreasuryCommand } from "~/settlement/treasury-cli.server";
import {
  bootstrapEmbeddedTreasury,
  EMBEDDED_FUNDING,
  readTreasury,
  treasuryIdentity,
  TreasuryError,
} from "~/settlement/treasury.server";
import { ensureDefaultOrganization } from "~/models/organizations.server";
import { openDatabase } from "~/utils/db.server";
import { migrateDatabase } from "~/utils/db.server";
import { parseEnv } from "~/utils/env.server";
import { useTestChain } from "../setup/chain";

const chain = useTestChain({ slotMs: 40 });
let client: ChainClient;
let workDir: string;

beforeAll(async () => {
  client = new ChainClient({ mode: "rpc", rpcUrl: chain.current.url, displayUrl: chain.current.url, programId: PROGRAM_ID });
  workDir = await mkdtemp(path.join(os.tmpdir(), "sf-treasury-"));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function airdrop(to: PublicKey, sol = 10) {
  const signature = await client.read("requestAirdrop", (c) => c.requestAirdrop(to, sol * LAMPORTS_PER_SOL));
  await client.confirmSignature(signature);
}

async function tokenAmount(account: PublicKey): Promise<bigint> {
  const balance = await client.read("getTokenAccountBalance", (c) => c.getTokenAccountBalance(account));
  return BigInt(balance.value.amount);
}

/** A classic SPL mint with 6 decimals whose mint authority is `authority`. */
async function newMint(payer: Keypair, authority: PublicKey): Promise<PublicKey> {
  const mint = Keypair.generate();
  const rent = await client.read("rent", (c) => c.getMinimumBalanceForRentExemption(MINT_SIZE));
  await client.sendInstructions(
    [
      SystemProgram.createAccount({ fromPubkey: payer.publicKey, newAccountPubkey: mint.publicKey, lamports: rent, space: MINT_SIZE, programId: TOKEN_PROGRAM_ID }),
      createInitializeMint2Instruction(mint.publicKey, 6, authority, null, TOKEN_PROGRAM_ID),
    ],
    payer,
    [mint],
  );
  return mint.publicKey;
}

describe("embedded treasury bootstrap", () => {
  it("creates the demo mint, the treasury and a vault funded with 1,000,000 sUSD once; a second start changes nothing", async () => {
    // Given a fresh data directory's keys and an organization id
    const dataDir = path.join(workDir, "embedded");
    const keys = await loadOrCreateEmbeddedKeys(dataDir);
    const organizationId = "7c0f6a52-58a5-4d3e-9d1b-2f5a1c9e8b01";

    // When the app starts twice (the second time with keys read back from disk)
    const first = await bootstrapEmbeddedTreasury(client, { keys, organizationId });
    const again = await bootstrapEmbeddedTreasury(client, { keys: await loadOrCreateEmbeddedKeys(dataDir), organizationId });

    // Then one mint, one treasury, one funding
    expect(first.steps).toEqual([
      "fee payer funded",
      `demo mint ${keys["demo-mint"].publicKey.toBase58()} created`,
      `treasury ${first.state.identity.treasury.toBase58()} initialized`,
      "vault funded with 1000000.000000 sUSD",
    ]);
    expect(again.steps).toEqual([]);
    expect(again.state.identity.treasury.equals(first.state.identity.treasury)).toBe(true);
    expect(await tokenAmount(first.state.identity.vault)).toBe(EMBEDDED_FUNDING);
    expect(first.state.account.authority.equals(keys["treasury-authority"].publicKey)).toBe(true);
    expect(first.state.mint.decimals).toBe(6);
    expect(first.state.mint.supply).toBe(EMBEDDED_FUNDING);
  });

  it("error: a treasury whose authority was handed to someone else is refused as foreign", async () => {
    // Given a treasury created by our authority, then handed over to a stranger
    const keys = await loadOrCreateEmbeddedKeys(path.join(workDir, "handed-over"));
    const organizationId = "0b9a0c3e-41de-4a28-9b7e-7d0f0e0c1a22";
    const { state } = await bootstrapEmbeddedTreasury(client, { keys, organizationId });
    const stranger = Keypair.generate();
    await client.sendInstructions(
      [setAuthorityInstruction({ authority: keys["treasury-authority"].publicKey, newAuthority: stranger.publicKey, treasury: state.identity.treasury })],
      keys["fee-payer"],
      [keys["treasury-authority"], stranger],
    );
    // When the app reads it as its own
    const error = await readTreasury(client, state.identity, keys["treasury-authority"].publicKey).catch((e) => e);
    // Then it is refused, naming who controls it
    expect(error).toBeInstanceOf(TreasuryError);
    expect(error.code).toBe("TREASURY_FOREIGN_AUTHORITY");
    expect(error.message).toContain(stranger.publicKey.toBase58());
  });
});

describe("npm run treasury against SOLANA_RPC_URL", () => {
  let authority: Keypair;
  let authorityFile: string;
  let mint: PublicKey;
  let dataDir: string;
  let env: ReturnType<typeof parseEnv>;
  const lines: string[] = [];
  const io = { out: (l: string) => void lines.push(l), err: (l: string) => void lines.push(l) };

  async function run(...argv: string[]) {
    lines.length = 0;
    const code = await runTreasuryCommand(argv, env, io);
    return { code, output: lines.join("\n"), json: () => JSON.parse(lines[lines.length - 1]) };
  }

  beforeAll(async () => {
    authority = Keypair.generate();
    authorityFile = path.join(workDir, "authority.json");
    await writeFile(authorityFile, JSON.stringify(Array.from(authority.secretKey)), { mode: 0o600 });
    await airdrop(authority.publicKey, 5);
    mint = await newMint(authority, authority.publicKey);
    // The authority holds 500 tokens to deposit.
    const ata = getAssociatedTokenAddressSync(mint, authority.publicKey, true, TOKEN_PROGRAM_ID);
    await client.sendInstructions(
      [
        createAssociatedTokenAccountIdempotentInstruction(authority.publicKey, ata, authority.publicKey, mint, TOKEN_PROGRAM_ID),
        createMintToCheckedInstruction(mint, ata, authority.publicKey, 500_000_000n, 6, [], TOKEN_PROGRAM_ID),
      ],
      authority,
    );
    // An embedded database (the organization the treasury belongs to).
    dataDir = path.join(workDir, "db");
    const db = await openDatabase({ dataDir });
    await migrateDatabase(db);
    await ensureDefaultOrganization(db.prisma);
    await db.close();
    env = parseEnv({
      STABLEFLOW_ENV: "test",
      STABLEFLOW_DATA_DIR: dataDir,
      SOLANA_RPC_URL: chain.current.url,
      STABLEFLOW_AUTHORITY_KEYPAIR: authorityFile,
      STABLEFLOW_MINT: mint.toBase58(),
    });
  });

  it("status before init says how to create it; init creates it once", async () => {
    const before = await run("status", "--json");
    expect(before.code).toBe(0);
    expect(before.json()).toMatchObject({ ok: true, initialized: false });

    const init = await run("init");
    expect(init.code).toBe(0);
    expect(init.output).toContain("treasury initialized");
    const twice = await run("init", "--json");
    expect(twice.code).toBe(0);
    expect(twice.json()).toMatchObject({ ok: true, created: false, authority: authority.publicKey.toBase58(), vaultBalance: "0" });
  });

  it("fund, status and withdraw move exact amounts", async () => {
    const fund = await run("fund", "250.000001", "--json");
    expect(fund.code).toBe(0);
    expect(fund.json()).toMatchObject({ ok: true, vaultBalance: "250000001" });

    const recipient = Keypair.generate();
    const recipientAta = getAssociatedTokenAddressSync(mint, recipient.publicKey, true, TOKEN_PROGRAM_ID);
    await client.sendInstructions(
      [createAssociatedTokenAccountIdempotentInstruction(authority.publicKey, recipientAta, recipient.publicKey, mint, TOKEN_PROGRAM_ID)],
      authority,
    );
    // A wallet address is paid into its associated token account.
    const withdraw = await run("withdraw", "50.5", recipient.publicKey.toBase58(), "--json");
    expect(withdraw.code).toBe(0);
    expect(withdraw.json()).toMatchObject({ ok: true, destination: recipientAta.toBase58(), vaultBalance: "199500001" });
    expect(await tokenAmount(recipientAta)).toBe(50_500_000n);

    const status = await run("status");
    expect(status.code).toBe(0);
    expect(status.output).toContain("balance 199.500001");
  });

  it("error: more than the vault holds, a bad amount, an unknown command", async () => {
    const tooMuch = await run("withdraw", "1000", authority.publicKey.toBase58(), "--json");
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.json().error.code).toBe("TREASURY_INSUFFICIENT_FUNDS");
    const badAmount = await run("fund", "1.0000001");
    expect(badAmount.code).toBe(2);
    expect(badAmount.output).toContain("at most 6 allowed");
    const unknown = await run("mint-more");
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain("usage: npm run treasury");
  });

  it("error: a missing keypair file is named", async () => {
    const missing = parseEnv({ ...envObject(), STABLEFLOW_AUTHORITY_KEYPAIR: path.join(workDir, "nope.json") });
    lines.length = 0;
    expect(await runTreasuryCommand(["status"], missing, io)).toBe(2);
    expect(lines.join("\n")).toContain(`keypair file ${path.join(workDir, "nope.json")} does not exist`);
  });

  it("error: an unfunded fee payer is told how many lamports are missing", async () => {
    const poor = Keypair.generate();
    const poorFile = path.join(workDir, "poor.json");
    await writeFile(poorFile, JSON.stringify(Array.from(poor.secretKey)), { mode: 0o600 });
    lines.length = 0;
    const code = await runTreasuryCommand(["init", "--json"], parseEnv({ ...envObject(), STABLEFLOW_AUTHORITY_KEYPAIR: poorFile }), io);
    expect(code).toBe(1);
    const error = JSON.parse(lines[lines.length - 1]).error;
    expect(error.code).toBe("TREASURY_FEE_PAYER_UNFUNDED");
    expect(error.message).toMatch(/holds 0 lamports; .* needs about \d+: send it \d+ more lamports/);
  });

  it("error: a Token-2022 mint with a close authority is refused by the program, and nothing is created", async () => {
    const closable = Keypair.generate();
    const space = getMintLen([ExtensionType.MintCloseAuthority]);
    const rent = await client.read("rent", (c) => c.getMinimumBalanceForRentExemption(space));
    await client.sendInstructions(
      [
        SystemProgram.createAccount({ fromPubkey: authority.publicKey, newAccountPubkey: closable.publicKey, lamports: rent, space, programId: TOKEN_2022_PROGRAM_ID }),
        createInitializeMintCloseAuthorityInstruction(closable.publicKey, authority.publicKey, TOKEN_2022_PROGRAM_ID),
        createInitializeMint2Instruction(closable.publicKey, 6, authority.publicKey, null, TOKEN_2022_PROGRAM_ID),
      ],
      authority,
      [closable],
    );
    lines.length = 0;
    const refusedEnv = parseEnv({ ...envObject(), STABLEFLOW_MINT: closable.publicKey.toBase58() });
    const code = await runTreasuryCommand(["init", "--json"], refusedEnv, io);
    expect(code).toBe(1);
    expect(JSON.parse(lines[lines.length - 1]).error.code).toBe("TREASURY_MINT_REFUSED");
    const identity = treasuryIdentity({ programId: PROGRAM_ID, mint: closable.publicKey, seedAuthority: authority.publicKey, organizationId: (await defaultOrgId()) });
    expect(await client.account(identity.treasury)).toBeNull();
  });

  function envObject() {
    return {
      STABLEFLOW_ENV: "test",
      STABLEFLOW_DATA_DIR: dataDir,
      SOLANA_RPC_URL: chain.current.url,
      STABLEFLOW_AUTHORITY_KEYPAIR: authorityFile,
      STABLEFLOW_MINT: mint.toBase58(),
    };
  }

  async function defaultOrgId() {
    const db = await openDatabase({ dataDir });
    try {
      return (await ensureDefaultOrganization(db.prisma)).id;
    } finally {
      await db.close();
    }
  }
});
