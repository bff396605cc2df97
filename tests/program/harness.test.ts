// Self-tests of the program harness: a missing build fails loudly instead of hanging, both
// runtimes' error texts parse to the same shape, the plan hash is the documented sha256, and
// the packet limit the runtimes do not enforce is enforced here.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Keypair, PublicKey, SystemProgram, TransactionInstruction } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { BUILD_COMMAND, MissingBuildError, REPO_ROOT, loadIdl, loadProgramBinary } from "./harness/artifacts.js";
import { PACKET_DATA_SIZE, PayoutsClient, TransactionTooLargeError, computePlanHash } from "./harness/client.js";
import { parseFailureMessage, type SvmRuntime } from "./harness/runtime.js";

describe("program harness", () => {
  it("error: a missing .so fails with the build command, before any runtime starts", () => {
    const missing = join(REPO_ROOT, "target/deploy/does-not-exist.so");
    expect(() => loadProgramBinary(missing)).toThrow(MissingBuildError);
    expect(() => loadProgramBinary(missing)).toThrow(BUILD_COMMAND);
  });

  it("parses bankrun's and LiteSVM's wording of a custom program error alike", () => {
    expect(parseFailureMessage("Error processing Instruction 1: custom program error: 0x177b")).toMatchObject({
      instructionIndex: 1,
      customCode: 6011,
    });
    expect(parseFailureMessage("InstructionError(1, Custom(6011))")).toMatchObject({ instructionIndex: 1, customCode: 6011 });
    expect(parseFailureMessage("Transaction locked too many accounts")).toMatchObject({ instructionIndex: null, customCode: null });
  });

  it("computes the plan hash as sha256 over (account || amount u64 LE) in order", () => {
    // Given: two recipients and amounts, and the same bytes laid out by hand
    const a = new PublicKey(Buffer.alloc(32, 1));
    const b = new PublicKey(Buffer.alloc(32, 2));
    const manual = createHash("sha256")
      .update(Buffer.concat([a.toBuffer(), Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), b.toBuffer(), Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])]))
      .digest();
    // Then: equal, and order matters
    expect(computePlanHash([a, b], [5n, 256n]).equals(manual)).toBe(true);
    expect(computePlanHash([b, a], [256n, 5n]).equals(manual)).toBe(false);
  });

  it("error: refuses to build a transaction over the 1232-byte packet limit", async () => {
    // Given: a client over a runtime that only hands out a blockhash
    const runtime = {
      kind: "litesvm",
      payer: Keypair.generate(),
      latestBlockhash: async () => Keypair.generate().publicKey.toBase58(),
    } as unknown as SvmRuntime;
    const client = new PayoutsClient(runtime, loadIdl());
    const ixWith = (accounts: number) =>
      new TransactionInstruction({
        programId: SystemProgram.programId,
        keys: Array.from({ length: accounts }, () => ({ pubkey: Keypair.generate().publicKey, isSigner: false, isWritable: true })),
        data: Buffer.alloc(0),
      });
    // When / Then: 30 fresh accounts (~1,100 bytes) fit, 40 (~1,400 bytes) do not
    const small = await client.build([ixWith(30)], []);
    expect(small.size).toBeLessThanOrEqual(PACKET_DATA_SIZE);
    await expect(client.build([ixWith(40)], [])).rejects.toBeInstanceOf(TransactionTooLargeError);
  });
});
