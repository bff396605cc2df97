// The IDL in idl/ is generated from the program source: the build script's check must find it
// current, and every discriminator in it must be Anchor's sha256 prefix, recomputed here in TS.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Keypair, PublicKey } from "@solana/web3.js";
import { describe, expect, it, vi } from "vitest";
import { BUILD_SCRIPT_PATH, REPO_ROOT, loadIdl } from "./harness/artifacts.js";
import { RECIPIENT_REFUSED_BASE, MAX_RECIPIENTS } from "../../app/settlement/program.js";
import { PayoutsClient, anchorDiscriminator } from "./harness/client.js";
import type { SvmRuntime } from "./harness/runtime.js";

vi.setConfig({ testTimeout: 600_000 });

/** The build script regenerates the IDL from the crate in memory and diffs it with idl/. */
const CHECK_IDL_ARGS = ["--check-idl"];

/** The interface both sides build to: instruction → accounts, in order. */
const INTERFACE_ACCOUNTS: Record<string, string[]> = {
  initialize_treasury: ["payer", "authority", "treasury", "vault", "mint", "token_program", "system_program"],
  deposit: ["depositor", "source", "treasury", "vault", "mint", "token_program"],
  execute_split: ["payer", "authority", "treasury", "vault", "mint", "split_record", "token_program", "system_program"],
  withdraw: ["authority", "treasury", "vault", "destination", "mint", "token_program"],
  set_authority: ["authority", "new_authority", "treasury"],
  set_paused: ["authority", "treasury"],
};

/** Every error the program suites assert by name; the IDL must give each its code. */
const ERRORS_ASSERTED = [
  "InvalidInstructionData",
  "UnknownInstruction",
  "NotEnoughAccounts",
  "AuthorityMustSign",
  "Unauthorized",
  "TreasuryPaused",
  "InvalidTreasury",
  "InvalidVault",
  "InvalidMint",
  "InvalidTokenProgram",
  "NoRecipients",
  "AmountsCountMismatch",
  "ZeroAmount",
  "RecipientWrongMint",
  "RecipientNotTokenAccount",
  "RecipientIsVault",
  "DuplicateRecipient",
  "AmountOverflow",
  "InsufficientVaultBalance",
  "PlanHashMismatch",
  "SplitAlreadyExecuted",
  "InvalidSplitRecord",
  "UnsupportedMintExtension",
  "NewAuthorityMustSign",
  "ZeroDepositOrWithdraw",
  "TreasuryAlreadyInitialized",
  "RecipientFrozen",
  "RecipientRequiresMemo",
  "RecipientExtensionUnsupported",
  "RecipientMissing",
];

const hex = (bytes: ArrayLike<number>) => Buffer.from(Array.from(bytes)).toString("hex");

describe("stableflow_payouts IDL", () => {
  const idl = loadIdl();

  it("is current: the build script's IDL check exits 0", () => {
    // When: the IDL generator runs over the current crate in check mode
    const result = spawnSync(process.execPath, [BUILD_SCRIPT_PATH, ...CHECK_IDL_ARGS], { cwd: REPO_ROOT, encoding: "utf8" });
    // Then
    expect(result.error ?? null).toBeNull();
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it("instruction discriminators are sha256('global:<name>')[..8]", () => {
    expect(idl.instructions.map((ix) => ix.name).sort()).toEqual(Object.keys(INTERFACE_ACCOUNTS).sort());
    for (const ix of idl.instructions) {
      expect(hex(ix.discriminator), ix.name).toBe(anchorDiscriminator("global", ix.name).toString("hex"));
    }
  });

  it("account discriminators are sha256('account:<Name>')[..8]", () => {
    expect((idl.accounts ?? []).map((a) => a.name).sort()).toEqual(["SplitRecord", "Treasury"]);
    for (const account of idl.accounts ?? []) {
      expect(hex(account.discriminator), account.name).toBe(anchorDiscriminator("account", account.name).toString("hex"));
    }
  });

  it("event discriminators are sha256('event:<Name>')[..8]", () => {
    expect((idl.events ?? []).map((e) => e.name).sort()).toEqual(
      ["AuthorityChanged", "Deposited", "PausedChanged", "RecipientRefused", "SplitExecuted", "TreasuryInitialized", "Withdrawn"].sort(),
    );
    for (const event of idl.events ?? []) {
      expect(hex(event.discriminator), event.name).toBe(anchorDiscriminator("event", event.name).toString("hex"));
    }
  });

  it("instruction accounts follow the interface order", () => {
    for (const ix of idl.instructions) {
      expect(
        ix.accounts.map((a) => a.name),
        ix.name,
      ).toEqual(INTERFACE_ACCOUNTS[ix.name]);
    }
  });

  it("error codes are contiguous from 6000, then 6100 + position for each recipient position, and name every error the suites assert", () => {
    const errors = idl.errors ?? [];
    const named = errors.filter((e) => e.code < RECIPIENT_REFUSED_BASE);
    named.forEach((error, i) => expect(error.code, error.name).toBe(6000 + i));
    // The recipient range: one entry per position a batch can have, nothing past it.
    const positions = errors.filter((e) => e.code >= RECIPIENT_REFUSED_BASE);
    expect(positions).toHaveLength(MAX_RECIPIENTS);
    positions.forEach((error, p) => expect({ code: error.code, name: error.name }).toEqual({ code: 6100 + p, name: `RecipientRefusedAt${p}` }));
    expect(named.length + positions.length).toBe(errors.length);
    const names = new Set(errors.map((e) => e.name));
    for (const name of ERRORS_ASSERTED) expect(names.has(name), name).toBe(true);
  });

  it("metadata carries the program's version 0.2.0 (seeds with the authority, domain-separated plan hash)", () => {
    expect(idl.metadata.version).toBe("0.2.0");
    expect(JSON.stringify(idl.instructions.find((ix) => ix.name === "execute_split")!.docs)).toContain("stableflow:split-plan:v1");
  });

  it("Anchor's Program built from the IDL encodes instruction data behind the discriminator", async () => {
    // Given: a client over no runtime (instructions are built offline)
    const runtime = { payer: Keypair.generate() } as unknown as SvmRuntime;
    const client = new PayoutsClient(runtime);
    expect(client.programId.equals(new PublicKey(idl.address))).toBe(true);
    // When: set_paused(true) is encoded
    const ix = client.setPausedIx({ authority: Keypair.generate().publicKey, treasury: Keypair.generate().publicKey, paused: true });
    // Then: discriminator, then a borsh bool
    expect(ix.data.toString("hex")).toBe(anchorDiscriminator("global", "set_paused").toString("hex") + "01");
    expect(ix.programId.equals(client.programId)).toBe(true);
  });

  it("the program id in the IDL is the one in Anchor.toml", () => {
    const anchorToml = readFileSync(join(REPO_ROOT, "Anchor.toml"), "utf8");
    expect(anchorToml).toContain(idl.address);
  });
});
