// What a transaction did to a treasury, from the payout program's events in its logs: deposits,
// withdrawals and splits, with their exact amounts. Pure; the console's history and reconciliation read it.
import type { PublicKey } from "@solana/web3.js";
import { decodeEvents } from "./program-logs";

export type TreasuryMovementKind = "deposit" | "withdrawal" | "split";

export interface TreasuryMovement {
  kind: TreasuryMovementKind;
  /** Base units. */
  amount: bigint;
  /** The depositor (deposit) or the destination token account (withdrawal); for a split, the run's batch. */
  counterparty: string;
}

/** The treasury's own movements in one transaction's logs: the program's Deposited, Withdrawn and SplitExecuted events. */
export function treasuryMovements(logs: readonly string[], treasury: PublicKey, programId: PublicKey): TreasuryMovement[] {
  const out: TreasuryMovement[] = [];
  for (const event of decodeEvents(logs, programId)) {
    if (!(event.data.treasury as PublicKey | undefined)?.equals(treasury)) continue;
    if (event.name === "Deposited") out.push({ kind: "deposit", amount: event.data.amount as bigint, counterparty: (event.data.depositor as PublicKey).toBase58() });
    if (event.name === "Withdrawn") out.push({ kind: "withdrawal", amount: event.data.amount as bigint, counterparty: (event.data.destination as PublicKey).toBase58() });
    if (event.name === "SplitExecuted") {
      const hex = Buffer.from(event.data.run_id as number[]).toString("hex");
      const runId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      out.push({ kind: "split", amount: event.data.total as bigint, counterparty: `run ${runId} batch ${event.data.batch_index as number}` });
    }
  }
  return out;
}
