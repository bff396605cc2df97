// Unit tests of the shared program client, with no runtime: the plan hash byte layout, PDA
// seeds, instruction encodings, account and event decoders, and the error readers, each
// checked against bytes laid out here by hand. (tests/program/ runs the same client against the
// program itself on bankrun and LiteSVM.)
import { createHash } from "node:crypto";
import { Connection, Keypair, PublicKey, SendTransactionError } from "@solana/web3.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IDL, MAX_RECIPIENTS, PROGRAM_ID, PROGRAM_VERSION, ProgramClientError, createProgram, RECIPIENT_REFUSED_BASE, decodeSplitRecord, decodeTreasury, depositInstruction, executeSplitInstruction, findTreasuryAddress, initializeTreasuryInstruction, programAccountName, setAuthorityInstruction, setPausedInstruction, splitPlanHash, splitRecordAddress, treasuryAddress, vaultAddress, withdrawInstruction } from "./program";
import { decodeEvents, decodeProgramError, programErrorCode, programErrorFromError, recipientRefusalFromError, recipientRefusalsFromLogs, splitExecutedEvents } from "./program-logs";

const key = () => Keypair.generate().publicKey;
const u16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const sha256 = (...parts: Buffer[]) => createHash("sha256").update(Buffer.concat(parts)).digest();
const discriminator = (namespace: string, name: string) => sha256(Buffer.from(`${namespace}:${name}`)).subarray(0, 8);
const idlDiscriminator = (kind: "accounts" | "events", name: string) =>
  Buffer.from((IDL[kind] ?? []).find((e) => e.name === name)!.discriminator);

describe("splitPlanHash", () => {
  it("is sha256 over the domain tag, program id, treasury, run id, batch index and each (account, amount u64 LE)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), {
          maxLength: MAX_RECIPIENTS,
        }),
        (runId, batchIndex, pairs) => {
          // Given: a batch, and the same bytes laid out by hand
          const treasury = new PublicKey(Buffer.alloc(32, 7));
          const transfers = pairs.map(([account, amount]) => ({ tokenAccount: new PublicKey(account), amount }));
          const manual = sha256(
            Buffer.from("stableflow:split-plan:v1"),
            PROGRAM_ID.toBuffer(),
            treasury.toBuffer(),
            Buffer.from(runId),
            u16(batchIndex),
            ...pairs.flatMap(([account, amount]) => [Buffer.from(account), u64(amount)]),
          );
          // Then: equal
          expect(Buffer.from(splitPlanHash({ treasury, runId, batchIndex, transfers })).equals(manual)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("never lets one batch's hash stand for another program, treasury, run or batch", () => {
    // Given: the same transfers under each changed header field
    const base = { programId: PROGRAM_ID, treasury: key(), runId: new Uint8Array(16).fill(1), batchIndex: 0, transfers: [{ tokenAccount: key(), amount: 5n }] };
    const hash = Buffer.from(splitPlanHash(base)).toString("hex");
    const variants = [
      { ...base, programId: key() },
      { ...base, treasury: key() },
      { ...base, runId: new Uint8Array(16).fill(2) },
      { ...base, batchIndex: 1 },
      { ...base, transfers: [{ ...base.transfers[0]!, amount: 6n }] },
    ];
    // Then: every hash differs from the original
    for (const variant of variants) expect(Buffer.from(splitPlanHash(variant)).toString("hex")).not.toBe(hash);
  });

  it("error: amounts outside u64, a run id not of 16 bytes or a batch index outside u16", () => {
    const base = { treasury: key(), runId: new Uint8Array(16), batchIndex: 0, transfers: [{ tokenAccount: key(), amount: 1n }] };
    const bad = [
      { ...base, transfers: [{ tokenAccount: key(), amount: -1n }] },
      { ...base, transfers: [{ tokenAccount: key(), amount: 1n << 64n }] },
      { ...base, runId: new Uint8Array(15) },
      { ...base, batchIndex: 65_536 },
      { ...base, batchIndex: 1.5 },
    ];
    for (const args of bad) {
      expect(() => splitPlanHash(args)).toThrow(ProgramClientError);
      expect(() => splitPlanHash(args)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });
});

describe("PDAs", () => {
  it("derive from the seeds spelled out: treasury [treasury, mint, seed authority, org], vault [vault, treasury], split [split, treasury, run, batch LE]", () => {
    const [mint, authority] = [key(), key()];
    const orgId = new Uint8Array(16).fill(9);
    const runId = new Uint8Array(16).fill(4);
    const [treasury, bump] = findTreasuryAddress({ mint, seedAuthority: authority, orgId });
    expect([treasury.toBase58(), bump]).toEqual(
      ((r) => [r[0].toBase58(), r[1]])(
        PublicKey.findProgramAddressSync([Buffer.from("treasury"), mint.toBuffer(), authority.toBuffer(), Buffer.from(orgId)], PROGRAM_ID),
      ),
    );
    expect(vaultAddress(treasury).equals(PublicKey.findProgramAddressSync([Buffer.from("vault"), treasury.toBuffer()], PROGRAM_ID)[0])).toBe(true);
    const record = splitRecordAddress({ treasury, runId, batchIndex: 258 });
    const manual = PublicKey.findProgramAddressSync([Buffer.from("split"), treasury.toBuffer(), Buffer.from(runId), Buffer.from([2, 1])], PROGRAM_ID)[0];
    expect(record.equals(manual)).toBe(true);
    // Another authority, same mint and org: another address (no one can take someone else's).
    expect(treasuryAddress({ mint, seedAuthority: key(), orgId }).equals(treasury)).toBe(false);
  });
});

describe("instruction builders", () => {
  it("encode execute_split as discriminator, run id, batch index, plan hash, then the amounts, with recipients as writable remaining accounts", () => {
    // Given
    const [payer, authority, treasury, vault, mint, tokenProgram] = [key(), key(), key(), key(), key(), key()];
    const runId = new Uint8Array(16).fill(3);
    const transfers = [
      { tokenAccount: key(), amount: 1_000_001n },
      { tokenAccount: key(), amount: (1n << 64n) - 1n },
    ];
    // When
    const ix = executeSplitInstruction({ payer, authority, treasury, vault, mint, tokenProgram, runId, batchIndex: 7, transfers });
    // Then: data laid out by hand, hash included
    const hash = Buffer.from(splitPlanHash({ treasury, runId, batchIndex: 7, transfers }));
    const expected = Buffer.concat([discriminator("global", "execute_split"), Buffer.from(runId), u16(7), hash, u32(2), u64(1_000_001n), u64((1n << 64n) - 1n)]);
    expect(ix.data.toString("hex")).toBe(expected.toString("hex"));
    expect(ix.programId.equals(PROGRAM_ID)).toBe(true);
    const record = splitRecordAddress({ treasury, runId, batchIndex: 7 });
    expect(ix.keys.map((k) => [k.pubkey.toBase58(), k.isSigner, k.isWritable])).toEqual([
      [payer.toBase58(), true, true],
      [authority.toBase58(), true, false],
      [treasury.toBase58(), false, true],
      [vault.toBase58(), false, true],
      [mint.toBase58(), false, false],
      [record.toBase58(), false, true],
      [tokenProgram.toBase58(), false, false],
      ["11111111111111111111111111111111", false, false],
      [transfers[0]!.tokenAccount.toBase58(), false, true],
      [transfers[1]!.tokenAccount.toBase58(), false, true],
    ]);
  });

  it("encode the other instructions behind their discriminators with the treasury PDAs derived", () => {
    const [payer, authority, mint, tokenProgram, other] = [key(), key(), key(), key(), key()];
    const orgId = new Uint8Array(16).fill(5);
    const init = initializeTreasuryInstruction({ payer, authority, mint, tokenProgram, orgId });
    const treasury = treasuryAddress({ mint, seedAuthority: authority, orgId });
    expect(init.data.toString("hex")).toBe(Buffer.concat([discriminator("global", "initialize_treasury"), Buffer.from(orgId)]).toString("hex"));
    expect(init.keys.map((k) => [k.isSigner, k.isWritable])).toEqual([[true, true], [true, false], [false, true], [false, true], [false, false], [false, false], [false, false]]);
    expect(init.keys[2]!.pubkey.equals(treasury) && init.keys[3]!.pubkey.equals(vaultAddress(treasury))).toBe(true);
    const accounts = { treasury, vault: vaultAddress(treasury), mint, tokenProgram };
    const deposit = depositInstruction({ ...accounts, depositor: authority, source: other, amount: 42n });
    expect(deposit.data.toString("hex")).toBe(Buffer.concat([discriminator("global", "deposit"), u64(42n)]).toString("hex"));
    const withdraw = withdrawInstruction({ ...accounts, authority, destination: other, amount: 43n });
    expect(withdraw.data.toString("hex")).toBe(Buffer.concat([discriminator("global", "withdraw"), u64(43n)]).toString("hex"));
    const handOver = setAuthorityInstruction({ authority, newAuthority: other, treasury });
    expect(handOver.data.toString("hex")).toBe(discriminator("global", "set_authority").toString("hex"));
    expect(handOver.keys.map((k) => k.isSigner)).toEqual([true, true, false]);
    const pause = setPausedInstruction({ authority, treasury, paused: true });
    expect(pause.data.toString("hex")).toBe(Buffer.concat([discriminator("global", "set_paused"), Buffer.from([1])]).toString("hex"));
    // A money amount that does not fit u64 is refused before encoding.
    expect(() => depositInstruction({ ...accounts, depositor: authority, source: other, amount: -5n })).toThrow(ProgramClientError);
  });
});

describe("createProgram", () => {
  it("gives an Anchor Program over the IDL from a Connection or a provider, encoding as the builders do", async () => {
    // Given: a Connection that is never called (no request is sent to build an instruction)
    const connection = new Connection("http://127.0.0.1:9");
    const [authority, treasury] = [key(), key()];
    for (const program of [createProgram(connection), createProgram({ connection, publicKey: authority })]) {
      // When: set_paused is built through Anchor's methods namespace
      const methods = program.methods as unknown as Record<string, (...args: unknown[]) => { accountsStrict(a: object): { instruction(): Promise<{ data: Buffer }> } }>;
      const ix = await methods.setPaused!(true).accountsStrict({ authority, treasury }).instruction();
      // Then: the same program id and bytes as the typed builder
      expect(program.programId.equals(PROGRAM_ID)).toBe(true);
      expect(ix.data.toString("hex")).toBe(setPausedInstruction({ authority, treasury, paused: true }).data.toString("hex"));
    }
    expect(PROGRAM_VERSION).toBe("0.2.0");
  });
});

describe("account decoders", () => {
  it("decode Treasury and SplitRecord bytes with money fields as bigint, and refuse other data", () => {
    // Given: a Treasury laid out by hand (borsh, after the discriminator)
    const [authority, seedAuthority, mint, tokenProgram, vault] = [key(), key(), key(), key(), key()];
    const big = (1n << 63n) + 12_345n;
    const treasuryBytes = Buffer.concat([
      idlDiscriminator("accounts", "Treasury"),
      authority.toBuffer(),
      mint.toBuffer(),
      tokenProgram.toBuffer(),
      vault.toBuffer(),
      seedAuthority.toBuffer(),
      Buffer.alloc(16, 6),
      Buffer.from([254, 253, 1]),
      u64(big),
      u64(3n),
    ]);
    expect(discriminator("account", "Treasury").equals(treasuryBytes.subarray(0, 8))).toBe(true);
    // When / Then
    const treasury = decodeTreasury(treasuryBytes);
    expect(programAccountName(treasuryBytes)).toBe("Treasury");
    expect(treasury.authority.equals(authority) && treasury.seedAuthority.equals(seedAuthority) && treasury.vault.equals(vault)).toBe(true);
    expect([treasury.bump, treasury.vaultBump, treasury.paused, treasury.totalSettled, treasury.splitsExecuted]).toEqual([254, 253, true, big, 3n]);
    expect(Buffer.from(treasury.orgId).equals(Buffer.alloc(16, 6))).toBe(true);
    // Given: a SplitRecord laid out by hand
    const [owner, executor] = [key(), key()];
    const recordBytes = Buffer.concat([
      idlDiscriminator("accounts", "SplitRecord"),
      owner.toBuffer(),
      Buffer.alloc(16, 2),
      u16(9),
      u16(45),
      u64(big),
      Buffer.alloc(32, 8),
      u64(77n),
      u64(BigInt.asUintN(64, -5n)),
      executor.toBuffer(),
      Buffer.from([250]),
    ]);
    const record = decodeSplitRecord(recordBytes);
    expect([record.batchIndex, record.recipientCount, record.total, record.slot, record.unixTimestamp, record.bump]).toEqual([9, 45, big, 77n, -5n, 250]);
    expect(record.treasury.equals(owner) && record.executor.equals(executor)).toBe(true);
    // Then: data of the other type, or of nothing, is refused with a typed error
    expect(() => decodeTreasury(recordBytes)).toThrow(expect.objectContaining({ code: "NOT_A_PROGRAM_ACCOUNT" }));
    expect(() => decodeSplitRecord(Buffer.alloc(149))).toThrow(ProgramClientError);
    expect(programAccountName(Buffer.alloc(10))).toBeNull();
  });
});

/** The log lines of one top-level call of this program around `inner` lines. */
const programLogs = (inner: string[], outcome = "success") => [
  `Program ${PROGRAM_ID.toBase58()} invoke [1]`,
  ...inner,
  `Program ${PROGRAM_ID.toBase58()} consumed 5000 of 200000 compute units`,
  `Program ${PROGRAM_ID.toBase58()} ${outcome}`,
];
const refusedEventLine = (recipient: PublicKey, position: number, reason: number) =>
  `Program data: ${Buffer.concat([idlDiscriminator("events", "RecipientRefused"), recipient.toBuffer(), u16(position), u32(reason)]).toString("base64")}`;

describe("events", () => {
  it("decode SplitExecuted from this program's data lines only, u64 fields as bigint", () => {
    // Given: a SplitExecuted line of ours, and the same bytes logged by a program we invoked
    const treasury = key();
    const bytes = Buffer.concat([idlDiscriminator("events", "SplitExecuted"), treasury.toBuffer(), Buffer.alloc(16, 1), u16(2), u16(3), u64(600n), Buffer.alloc(32, 4), u64(99n)]);
    const line = `Program data: ${bytes.toString("base64")}`;
    const other = key().toBase58();
    const logs = programLogs([line, `Program ${other} invoke [2]`, line, `Program ${other} success`]);
    // When
    const events = splitExecutedEvents(logs);
    // Then: one event, from our frame, not the inner program's
    expect(events).toHaveLength(1);
    expect(events[0]!.treasury.equals(treasury)).toBe(true);
    expect([events[0]!.batchIndex, events[0]!.recipientCount, events[0]!.total, events[0]!.slot]).toEqual([2, 3, 600n, 99n]);
    expect(decodeEvents([`Program ${other} invoke [1]`, line, `Program ${other} success`])).toEqual([]);
  });
});

describe("errors", () => {
  it("decode every IDL code to its name and message, with the recipient range per position", () => {
    expect(decodeProgramError(6020)).toMatchObject({ code: 6020, name: "PlanHashMismatch" });
    expect(decodeProgramError(RECIPIENT_REFUSED_BASE + 7)).toMatchObject({ code: 6107, name: "RecipientRefusedAt7" });
    expect(decodeProgramError(RECIPIENT_REFUSED_BASE + MAX_RECIPIENTS)).toBeNull();
    expect(decodeProgramError(17)).toBeNull();
    expect(programErrorCode("RecipientFrozen")).toBe(6029);
  });

  it("read a refused recipient's position and reason from every shape a failure arrives in", () => {
    // Given: a failed execute_split whose recipient at 3 is frozen and at 5 is missing
    const [frozen, missing] = [key(), key()];
    const logs = programLogs(
      [refusedEventLine(frozen, 3, programErrorCode("RecipientFrozen")), refusedEventLine(missing, 5, programErrorCode("RecipientMissing"))],
      "failed: custom program error: 0x17d7",
    );
    const err = { InstructionError: [1, { Custom: 6103 }] };
    const withLogs = { position: 3, reason: "RecipientFrozen", recipient: frozen.toBase58() };
    const bare = { position: 3, reason: "Unknown", recipient: undefined };
    const shapes: Array<[string, unknown, typeof withLogs | typeof bare]> = [
      ["simulation value", { err, logs, unitsConsumed: 5000 }, withLogs],
      ["SendTransactionError", new SendTransactionError({ action: "simulate", signature: "", transactionMessage: "Transaction simulation failed: Error processing Instruction 1: custom program error: 0x17d7", logs }), withLogs],
      ["transaction meta", { meta: { err, logMessages: logs } }, withLogs],
      ["logs alone", logs, withLogs],
      ["bare TransactionError (a signature status)", err, bare],
      ["status with err", { confirmationStatus: "confirmed", err }, bare],
      ["error text", new Error(`Transaction abc failed (${JSON.stringify({ err })})`), bare],
      ["LiteSVM text", "InstructionError(1, Custom(6103))", bare],
    ];
    for (const [label, input, expected] of shapes) {
      // When
      const refusal = recipientRefusalFromError(input);
      // Then
      expect({ ...refusal, recipient: refusal?.recipient?.toBase58() }, label).toEqual(expected);
    }
    expect(recipientRefusalsFromLogs(logs).map((r) => [r.position, r.reason])).toEqual([[3, "RecipientFrozen"], [5, "RecipientMissing"]]);
    expect(programErrorFromError({ err, logs })).toMatchObject({ code: 6103, name: "RecipientRefusedAt3", instructionIndex: 1 });
  });

  it("return null for failures that are not a refused recipient, and for non-failures", () => {
    const planHash = { InstructionError: [0, { Custom: 6020 }] };
    expect(recipientRefusalFromError(planHash)).toBeNull();
    expect(programErrorFromError(planHash)).toMatchObject({ name: "PlanHashMismatch" });
    expect(recipientRefusalFromError({ InstructionError: [0, { Custom: RECIPIENT_REFUSED_BASE + MAX_RECIPIENTS }] })).toBeNull();
    expect(recipientRefusalFromError({ InstructionError: [0, "InvalidAccountData"] })).toBeNull();
    expect(recipientRefusalFromError(null)).toBeNull();
    expect(recipientRefusalFromError(new Error("blockhash not found"))).toBeNull();
    expect(programErrorFromError(programLogs([]))).toBeNull();
  });
});
