// Self-tests of the program harness: a missing build fails loudly instead of hanging, both
// runtimes' error texts parse to the same shape, and the packet limit the runtimes do not
// enforce is enforced here. (The plan hash layout is tested with the app's client,
// app/settlement/program.test.ts.)
import { join } from "node:path";
import { Keypair, SystemProgram, TransactionInstruction } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import { BUILD_COMMAND, MissingBuildError, REPO_ROOT, loadProgramBinary } from "./harness/artifacts.js";
import { PACKET_DATA_SIZE, PayoutsClient, TransactionTooLargeError } from "./harness/client.js";
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

  it("error: refuses to build a transaction over the 1232-byte packet limit", async () => {
    // Given: a client over a runtime that only hands out a blockhash
    const runtime = {
      kind: "litesvm",
      payer: Keypair.generate(),
      latestBlockhash: async () => Keypair.generate().publicKey.toBase58(),
    } as unknown as SvmRuntime;
    const client = new PayoutsClient(runtime);
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
