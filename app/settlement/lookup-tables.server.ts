// Address lookup tables for v0 splits, per treasury: created when needed, extended by as many addresses
// as one set-up transaction carries (about 30), remembered in the database and reused, so a recipient
// already in a table costs no new table. Every table starts with the fixed accounts of execute_split. The
// chain is the truth of what a table holds; one executor at a time changes a treasury's tables (a lease),
// and a create or extend left in flight by a crash is resolved before anything is added again (an extend
// sent twice would add its addresses twice). New entries are usable from the slot after they were added.
import { AddressLookupTableAccount, AddressLookupTableProgram, ComputeBudgetProgram, PublicKey, Transaction } from "@solana/web3.js";
import { acquireLease, insertLookupTable, releaseLease, renewLease, syncLookupTable, treasuryLookupTables, abandonLookupTable } from "~/models/settlement-setup.server";
import { fixedLookupAddresses, PACKET_DATA_SIZE } from "./batch-transaction";
import { ExecutorError, sleep, type ExecutorContext } from "./executor-context.server";
import { resolvePendingSetup, sendSetupTransaction } from "./executor-setup.server";
import type { TreasuryIdentity } from "./treasury.server";

/** A lookup table holds at most 256 addresses. */
export const LOOKUP_TABLE_CAPACITY = 256;

let extendCapacity: number | undefined;

/** Addresses one extend transaction carries, measured by serializing it (one signer: the fee payer). */
export function addressesPerExtend(): number {
  if (extendCapacity !== undefined) return extendCapacity;
  const payer = new PublicKey(new Uint8Array(32).fill(1));
  const table = new PublicKey(new Uint8Array(32).fill(2));
  let n = 0;
  for (;;) {
    const addresses = Array.from({ length: n + 1 }, (_, i) => {
      const bytes = new Uint8Array(32).fill(3);
      new DataView(bytes.buffer).setUint32(0, i);
      return new PublicKey(bytes);
    });
    const tx = new Transaction({ feePayer: payer, blockhash: "11111111111111111111111111111111", lastValidBlockHeight: 0 });
    // The set-up transaction's own compute-unit price instruction is part of its size.
    tx.add(
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: (1n << 64n) - 1n }),
      AddressLookupTableProgram.extendLookupTable({ lookupTable: table, authority: payer, payer, addresses }),
    );
    // One signature (the fee payer, who is the tables' authority) and its count byte.
    const size = tx.serializeMessage().length + 1 + 64;
    if (size > PACKET_DATA_SIZE) break;
    n++;
  }
  extendCapacity = n;
  return n;
}

async function readTable(ctx: Pick<ExecutorContext, "client">, address: PublicKey): Promise<AddressLookupTableAccount | null> {
  const result = await ctx.client.read("getAddressLookupTable", (c) => c.getAddressLookupTable(address, { commitment: "confirmed" }));
  return result.value;
}

/** Waits until the slot is past `slot` (entries added at `slot` are usable from the next one). */
async function waitPastSlot(ctx: ExecutorContext, slot: number): Promise<void> {
  for (;;) {
    const now = await ctx.client.read("getSlot", (c) => c.getSlot("confirmed"));
    if (now > slot) return;
    await sleep(ctx.pollMs);
  }
}

interface KnownTable {
  id: string;
  account: AddressLookupTableAccount;
}

/**
 * Tables of the treasury that hold every address of `addresses` (creating and extending as needed), as
 * the chain holds them now, usable in a v0 transaction in the current slot.
 */
export async function ensureLookupTables(
  ctx: ExecutorContext,
  args: { identity: TreasuryIdentity; tokenProgram: PublicKey; addresses: readonly PublicKey[]; runId: string },
): Promise<AddressLookupTableAccount[]> {
  const treasury = args.identity.treasury.toBase58();
  const lease = { key: `lookup-tables:${treasury}`, holder: ctx.holder };
  const deadline = Date.now() + ctx.attemptDeadlineMs;
  while (!(await acquireLease(ctx.db, lease, ctx.leaseMs))) {
    if (Date.now() > deadline) throw new ExecutorError("LOOKUP_TABLE_BUSY", `another executor keeps the lookup tables of ${treasury} busy`);
    await sleep(200);
  }
  const renewing = setInterval(() => void renewLease(ctx.db, lease, ctx.leaseMs).catch(() => undefined), Math.max(500, ctx.leaseMs / 3));
  try {
    await resolvePendingSetup(ctx, treasury, ["LOOKUP_TABLE_CREATE", "LOOKUP_TABLE_EXTEND"]);
    const fixed = fixedLookupAddresses({ ...args.identity, tokenProgram: args.tokenProgram });
    const tables: KnownTable[] = [];
    for (const row of await treasuryLookupTables(ctx.db, treasury)) {
      const account = await readTable(ctx, new PublicKey(row.address));
      if (!account) {
        // Its create never landed (resolved above as expired or failed): never used.
        if (row.createdSlot === null) await abandonLookupTable(ctx.db, row.id);
        continue;
      }
      if (!account.isActive() || !account.state.authority?.equals(ctx.signers.feePayer.publicKey)) continue;
      await syncLookupTable(ctx.db, {
        tableId: row.id,
        addresses: account.state.addresses.map((a) => a.toBase58()),
        createdSlot: row.createdSlot ?? BigInt(account.state.lastExtendedSlot),
        lastExtendedSlot: BigInt(account.state.lastExtendedSlot),
      });
      tables.push({ id: row.id, account });
    }
    const held = new Set(tables.flatMap((t) => t.account.state.addresses.map((a) => a.toBase58())));
    const missing = args.addresses.filter((a, i, all) => !held.has(a.toBase58()) && all.findIndex((b) => b.equals(a)) === i);
    const perExtend = addressesPerExtend();
    while (missing.length > 0) {
      let table = tables.find((t) => t.account.state.addresses.length < LOOKUP_TABLE_CAPACITY);
      if (!table) {
        table = await createTable(ctx, { treasury, fixed, runId: args.runId });
        tables.push(table);
      }
      const room = LOOKUP_TABLE_CAPACITY - table.account.state.addresses.length;
      const chunk = missing.splice(0, Math.min(room, perExtend));
      const result = await sendSetupTransaction(ctx, {
        treasury,
        runId: args.runId,
        kind: "LOOKUP_TABLE_EXTEND",
        instructions: [
          AddressLookupTableProgram.extendLookupTable({
            lookupTable: table.account.key,
            authority: ctx.signers.feePayer.publicKey,
            payer: ctx.signers.feePayer.publicKey,
            addresses: chunk,
          }),
        ],
        lookupTableId: table.id,
        addresses: chunk.map((a) => a.toBase58()),
        crash: "lookup-table-extend",
      });
      if (result.kind !== "CONFIRMED") {
        // Expired or refused: nothing was added (the chain says so below); try these again.
        missing.unshift(...chunk);
        if (result.kind === "FAILED") throw new ExecutorError("LOOKUP_TABLE_BUSY", `extending lookup table ${table.account.key.toBase58()} failed: ${result.error}`);
      }
      table.account = (await readTable(ctx, table.account.key)) ?? table.account;
      await syncLookupTable(ctx.db, {
        tableId: table.id,
        addresses: table.account.state.addresses.map((a) => a.toBase58()),
        lastExtendedSlot: BigInt(table.account.state.lastExtendedSlot),
      });
    }
    const wanted = new Set(args.addresses.map((a) => a.toBase58()));
    const used = tables.filter((t) => t.account.state.addresses.some((a) => wanted.has(a.toBase58())));
    await waitPastSlot(ctx, Math.max(0, ...used.map((t) => t.account.state.lastExtendedSlot)));
    return used.map((t) => t.account);
  } finally {
    clearInterval(renewing);
    await releaseLease(ctx.db, lease).catch(() => undefined);
  }
}

/** A new table with the fixed accounts in it, its row written before the create is sent. */
async function createTable(ctx: ExecutorContext, args: { treasury: string; fixed: PublicKey[]; runId: string }): Promise<KnownTable> {
  for (let tries = 0; tries < 3; tries++) {
    const recentSlot = await ctx.client.read("getSlot", (c) => c.getSlot("finalized"));
    const authority = ctx.signers.feePayer.publicKey;
    const [create, address] = AddressLookupTableProgram.createLookupTable({ authority, payer: authority, recentSlot });
    const tableId = await insertLookupTable(ctx.db, { treasury: args.treasury, address: address.toBase58(), authority: authority.toBase58(), recentSlot: BigInt(recentSlot) });
    const result = await sendSetupTransaction(ctx, {
      treasury: args.treasury,
      runId: args.runId,
      kind: "LOOKUP_TABLE_CREATE",
      instructions: [create, AddressLookupTableProgram.extendLookupTable({ lookupTable: address, authority, payer: authority, addresses: args.fixed })],
      lookupTableId: tableId,
      addresses: args.fixed.map((a) => a.toBase58()),
      crash: "lookup-table-create",
    });
    if (result.kind === "CONFIRMED") {
      const account = await readTable(ctx, address);
      if (!account) throw new ExecutorError("NOT_VISIBLE_YET", `lookup table ${address.toBase58()} is not visible yet`);
      await syncLookupTable(ctx.db, {
        tableId,
        addresses: account.state.addresses.map((a) => a.toBase58()),
        createdSlot: BigInt(result.slot),
        lastExtendedSlot: BigInt(account.state.lastExtendedSlot),
      });
      return { id: tableId, account };
    }
    await abandonLookupTable(ctx.db, tableId);
    if (result.kind === "FAILED") throw new ExecutorError("LOOKUP_TABLE_BUSY", `creating a lookup table failed: ${result.error}`);
  }
  throw new ExecutorError("LOOKUP_TABLE_BUSY", "three lookup-table creations in a row expired");
}

/**
 * Read-only, for a preview: the treasury's live tables (as the chain holds them) that hold some of
 * `addresses`, and those of `addresses` no table holds yet (ensureLookupTables adds them at execution).
 */
export async function existingLookupTables(
  ctx: Pick<ExecutorContext, "db" | "client" | "signers">,
  args: { treasury: string; addresses: readonly PublicKey[] },
): Promise<{ tables: AddressLookupTableAccount[]; missing: PublicKey[] }> {
  const tables: AddressLookupTableAccount[] = [];
  for (const row of await treasuryLookupTables(ctx.db, args.treasury)) {
    const account = await readTable(ctx, new PublicKey(row.address));
    if (account?.isActive() && account.state.authority?.equals(ctx.signers.feePayer.publicKey)) tables.push(account);
  }
  const held = new Set(tables.flatMap((t) => t.state.addresses.map((a) => a.toBase58())));
  const wanted = new Set(args.addresses.map((a) => a.toBase58()));
  return {
    tables: tables.filter((t) => t.state.addresses.some((a) => wanted.has(a.toBase58()))),
    missing: args.addresses.filter((a) => !held.has(a.toBase58())),
  };
}
