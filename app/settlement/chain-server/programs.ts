// Deploys the repo's program at start, at its program id, as an upgradeable-loader program: written
// when absent, upgraded in place when the .so changed since the last deployment, untouched otherwise
// (so a program upgraded through the loader by its authority keeps that upgrade until the .so changes).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { PublicKey } from "@solana/web3.js";
import type { Chain } from "./chain";
import { UPGRADEABLE_LOADER } from "./codec";

const PROGRAMDATA_METADATA = 45; // tag u32 + slot u64 + Option<Pubkey> laid out at its full 33 bytes

export interface ProgramSource {
  programId: string;
  soPath: string;
}

export type DeployOutcome = "deployed" | "upgraded" | "unchanged" | "missing" | "refused";

export function deployProgram(chain: Chain, source: ProgramSource, log: (line: string) => void): DeployOutcome {
  if (!existsSync(source.soPath)) {
    log(`chain: ${source.soPath} not found; program ${source.programId} not deployed (run npm run build:program)`);
    return "missing";
  }
  const elf = readFileSync(source.soPath);
  const sha256 = createHash("sha256").update(elf).digest("hex");
  const programId = new PublicKey(source.programId);
  const current = chain.account(source.programId);
  if (current && chain.programs.get(source.programId) === sha256) return "unchanged";

  const loader = new PublicKey(UPGRADEABLE_LOADER);
  const [programData] = PublicKey.findProgramAddressSync([programId.toBytes()], loader);
  const existingData = chain.account(programData.toBase58());
  const data = Buffer.alloc(PROGRAMDATA_METADATA + elf.length);
  data.writeUInt32LE(3, 0);
  data.writeBigUInt64LE(BigInt(chain.clock.slot), 4);
  // Keep the upgrade authority an earlier deployment or a loader upgrade set; a new one has none.
  if (existingData && existingData.data.length >= PROGRAMDATA_METADATA) {
    Buffer.from(existingData.data.subarray(12, PROGRAMDATA_METADATA)).copy(data, 12);
  }
  elf.copy(data, PROGRAMDATA_METADATA);
  const programAccount = Buffer.alloc(36);
  programAccount.writeUInt32LE(2, 0);
  programData.toBuffer().copy(programAccount, 4);
  try {
    chain.setAccounts(
      "deploy",
      [
        [programData.toBase58(), { lamports: chain.minimumBalanceForRentExemption(data.length), owner: UPGRADEABLE_LOADER, executable: false, data }],
        [source.programId, { lamports: chain.minimumBalanceForRentExemption(36), owner: UPGRADEABLE_LOADER, executable: true, data: programAccount }],
      ],
      { id: source.programId, sha256 },
    );
  } catch (error) {
    log(`chain: program ${source.programId} refused by the runtime: ${(error as Error).message}`);
    return "refused";
  }
  return current ? "upgraded" : "deployed";
}
