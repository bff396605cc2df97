// Solana's WebSocket subscriptions, as `Connection.confirmTransaction`, `onAccountChange` and
// `onSlotChange` use them: signature, account, slot and root notifications.
import type { IncomingMessage } from "node:http";
import type WebSocket from "ws";
import type { Chain } from "./chain";
import type { Commitment } from "./clock";
import { FINALIZATION_DEPTH } from "./clock";
import type { TransactionErrorJson } from "./errors";
import { accountConfigSchema, address, commitmentSchema, encodeAccount, signature, type AccountConfig } from "./params";

type Subscription =
  | { kind: "signature"; socket: WebSocket; signature: string; commitment: Commitment }
  | { kind: "account"; socket: WebSocket; address: string; config: AccountConfig; commitment: Commitment }
  | { kind: "slot" | "root"; socket: WebSocket };

const MAX_SUBSCRIPTIONS_PER_SOCKET = 1_000;

export class PubSub {
  private nextId = 1;
  private readonly subscriptions = new Map<number, Subscription>();
  /** Account changes waiting for their slot to reach a subscriber's commitment. */
  private pendingAccounts: { slot: number; address: string }[] = [];

  constructor(private readonly chain: Chain) {
    chain.onTransaction((tx, written) => {
      this.checkSignatures([tx.signature]);
      for (const key of written) this.pendingAccounts.push({ slot: tx.slot, address: key });
      this.flushAccounts();
    });
    chain.onBlocks((blocks) => {
      for (const block of blocks) {
        this.broadcast("slot", "slotNotification", { parent: Math.max(0, block.slot - 1), root: Math.max(0, block.slot - FINALIZATION_DEPTH), slot: block.slot });
        this.broadcast("root", "rootNotification", Math.max(0, block.slot - FINALIZATION_DEPTH));
      }
      this.checkSignatures();
      this.flushAccounts();
    });
  }

  accept(socket: WebSocket, _request: IncomingMessage): void {
    socket.on("message", (data) => {
      try {
        this.onMessage(socket, String(data));
      } catch {
        this.send(socket, { jsonrpc: "2.0", id: null, error: { code: -32603, message: "Internal error" } });
      }
    });
    socket.on("close", () => {
      for (const [id, sub] of this.subscriptions) if (sub.socket === socket) this.subscriptions.delete(id);
    });
    socket.on("error", () => socket.terminate());
  }

  private onMessage(socket: WebSocket, text: string): void {
    let request: { id?: unknown; method?: unknown; params?: unknown; jsonrpc?: unknown };
    try {
      request = JSON.parse(text);
    } catch {
      this.send(socket, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
      return;
    }
    const id = typeof request?.id === "number" || typeof request?.id === "string" ? request.id : null;
    const reply = (result: unknown) => this.send(socket, { jsonrpc: "2.0", id, result });
    const fail = (code: number, message: string) => this.send(socket, { jsonrpc: "2.0", id, error: { code, message } });
    if (typeof request !== "object" || request === null || request.jsonrpc !== "2.0" || typeof request.method !== "string") {
      fail(-32600, "Invalid request");
      return;
    }
    const params = Array.isArray(request.params) ? request.params : [];
    const method = request.method;
    if (method.endsWith("Unsubscribe")) {
      const subId = params[0];
      const sub = typeof subId === "number" ? this.subscriptions.get(subId) : undefined;
      if (!sub || sub.socket !== socket) return fail(-32602, "Invalid subscription id.");
      this.subscriptions.delete(subId as number);
      return reply(true);
    }
    const owned = [...this.subscriptions.values()].filter((s) => s.socket === socket).length;
    if (owned >= MAX_SUBSCRIPTIONS_PER_SOCKET) return fail(-32602, "Too many subscriptions");
    const parsedCommitment = (value: unknown): Commitment => {
      const result = commitmentSchema.safeParse((value as { commitment?: unknown } | undefined)?.commitment ?? "finalized");
      return result.success ? result.data : "finalized";
    };
    let sub: Subscription;
    if (method === "signatureSubscribe") {
      const sig = signature.safeParse(params[0]);
      if (!sig.success) return fail(-32602, "Invalid Request: Invalid signature");
      sub = { kind: "signature", socket, signature: sig.data, commitment: parsedCommitment(params[1]) };
    } else if (method === "accountSubscribe") {
      const key = address.safeParse(params[0]);
      const config = accountConfigSchema.optional().safeParse(params[1]);
      if (!key.success || !config.success) return fail(-32602, "Invalid params");
      sub = { kind: "account", socket, address: key.data, config: config.data ?? {}, commitment: config.data?.commitment ?? "finalized" };
    } else if (method === "slotSubscribe" || method === "rootSubscribe") {
      sub = { kind: method === "slotSubscribe" ? "slot" : "root", socket };
    } else {
      return fail(-32601, "Method not found");
    }
    const subId = this.nextId++;
    this.subscriptions.set(subId, sub);
    reply(subId);
    if (sub.kind === "signature") this.checkSignatures([sub.signature]);
  }

  private checkSignatures(only?: string[]): void {
    for (const [id, sub] of this.subscriptions) {
      if (sub.kind !== "signature" || (only && !only.includes(sub.signature))) continue;
      const tx = this.chain.history.get(sub.signature);
      if (!tx || !this.chain.visibleAt(tx.slot, sub.commitment)) continue;
      // A signature subscription answers once and ends, as on a validator.
      this.subscriptions.delete(id);
      this.notify(sub.socket, "signatureNotification", id, { context: { slot: tx.slot }, value: { err: tx.err as TransactionErrorJson | null } });
    }
  }

  private flushAccounts(): void {
    if (this.pendingAccounts.length === 0) return;
    const accountSubs = [...this.subscriptions].filter(([, s]) => s.kind === "account");
    if (accountSubs.length === 0) {
      this.pendingAccounts = [];
      return;
    }
    const waiting: { slot: number; address: string }[] = [];
    for (const change of this.pendingAccounts) {
      let open = false;
      for (const [id, sub] of accountSubs) {
        if (sub.kind !== "account" || sub.address !== change.address) continue;
        if (!this.chain.visibleAt(change.slot, sub.commitment)) {
          open = true;
          continue;
        }
        const account = this.chain.account(change.address);
        const value = account ? encodeAccount(this.chain, account, { encoding: "base64", ...sub.config }) : { data: ["", "base64"], executable: false, lamports: 0, owner: "11111111111111111111111111111111", rentEpoch: 0, space: 0 };
        this.notify(sub.socket, "accountNotification", id, { context: { slot: this.chain.clock.slot }, value });
      }
      if (open) waiting.push(change);
    }
    this.pendingAccounts = waiting.filter((c) => c.slot >= this.chain.clock.slot - FINALIZATION_DEPTH - 1);
  }

  private broadcast(kind: "slot" | "root", method: string, result: unknown): void {
    for (const [id, sub] of this.subscriptions) if (sub.kind === kind) this.notify(sub.socket, method, id, result);
  }

  private notify(socket: WebSocket, method: string, subscription: number, result: unknown): void {
    this.send(socket, { jsonrpc: "2.0", method, params: { result, subscription } });
  }

  private send(socket: WebSocket, message: unknown): void {
    if (socket.readyState === 1) socket.send(JSON.stringify(message));
  }
}

