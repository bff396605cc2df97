// What the stableflow_payouts program says in a transaction's logs and errors: its events
// (sol_log_data, attributed by invoke depth) and its error codes, including the per-recipient refusal
// codes (RECIPIENT_REFUSED_BASE + position). Split from program.ts, the client of the program's accounts
// and instructions; both read the same IDL. Pure: no RPC, no Node-only module.
import anchor from "@coral-xyz/anchor";
import type { PublicKey } from "@solana/web3.js";
import { coder, IDL, MAX_RECIPIENTS, PROGRAM_ID, ProgramClientError, RECIPIENT_REFUSED_BASE } from "./program";

const { BN } = anchor;
type BNValue = InstanceType<typeof BN>;
const toBigInt = (value: BNValue): bigint => BigInt(value.toString());
const toBytes = (value: number[]): Uint8Array => Uint8Array.from(value);

// --------------------------------------------------------------------------------------- events

export interface SplitExecutedEvent {
  treasury: PublicKey;
  runId: Uint8Array;
  batchIndex: number;
  recipientCount: number;
  total: bigint;
  planHash: Uint8Array;
  slot: bigint;
}

export interface RecipientRefusedEvent {
  recipient: PublicKey;
  position: number;
  /** The code of the Recipient* error that says why (e.g. 6029 RecipientFrozen). */
  reason: number;
}

/** A decoded event: its IDL name and its fields as the IDL names them (u64 as bigint). */
export interface ProgramEvent {
  name: string;
  data: Record<string, unknown>;
}

const INVOKE_LINE = /^Program ([1-9A-HJ-NP-Za-km-z]{32,44}) invoke \[\d+\]$/;
const EXIT_LINE = /^Program ([1-9A-HJ-NP-Za-km-z]{32,44}) (?:success$|failed)/;
const DATA_PREFIX = "Program data: ";

function normalizeEventField(value: unknown): unknown {
  if (BN.isBN(value)) return toBigInt(value as BNValue);
  return value;
}

/**
 * Events this program logged (sol_log_data), in order. Follows the invoke / success / failed
 * lines so a data line is attributed to the program running at that depth: another program's
 * data lines, even at the same discriminator, are ignored. Works on failed transactions too.
 */
export function decodeEvents(logs: readonly string[], programId: PublicKey = PROGRAM_ID): ProgramEvent[] {
  const ours = programId.toBase58();
  const stack: string[] = [];
  const events: ProgramEvent[] = [];
  for (const line of logs) {
    const invoke = INVOKE_LINE.exec(line);
    if (invoke) {
      stack.push(invoke[1]!);
      continue;
    }
    if (EXIT_LINE.test(line)) {
      stack.pop();
      continue;
    }
    if (line.startsWith(DATA_PREFIX) && stack[stack.length - 1] === ours) {
      // One sol_log_data part per event: the first base64 word.
      const [first] = line.slice(DATA_PREFIX.length).split(" ");
      const decoded = first ? coder.events.decode(first) : null;
      if (decoded) {
        const data = Object.fromEntries(Object.entries(decoded.data).map(([k, v]) => [k, normalizeEventField(v)]));
        events.push({ name: decoded.name, data });
      }
    }
  }
  return events;
}

export function splitExecutedEvents(logs: readonly string[], programId?: PublicKey): SplitExecutedEvent[] {
  return decodeEvents(logs, programId)
    .filter((e) => e.name === "SplitExecuted")
    .map(({ data }) => ({
      treasury: data.treasury as PublicKey,
      runId: toBytes(data.run_id as number[]),
      batchIndex: data.batch_index as number,
      recipientCount: data.recipient_count as number,
      total: data.total as bigint,
      planHash: toBytes(data.plan_hash as number[]),
      slot: data.slot as bigint,
    }));
}

export function recipientRefusedEvents(logs: readonly string[], programId?: PublicKey): RecipientRefusedEvent[] {
  return decodeEvents(logs, programId)
    .filter((e) => e.name === "RecipientRefused")
    .map(({ data }) => ({ recipient: data.recipient as PublicKey, position: data.position as number, reason: data.reason as number }));
}

// --------------------------------------------------------------------------------------- errors

export interface ProgramErrorInfo {
  code: number;
  name: string;
  message: string;
}

const ERRORS_BY_CODE = new Map<number, ProgramErrorInfo>(
  (IDL.errors ?? []).map((e) => [e.code, { code: e.code, name: e.name, message: e.msg ?? e.name }]),
);

/** The program's name and message for a custom error code; null for a code it does not define. */
export function decodeProgramError(code: number): ProgramErrorInfo | null {
  return ERRORS_BY_CODE.get(code) ?? null;
}

/** The code of a named program error (throws for a name the IDL does not have). */
export function programErrorCode(name: string): number {
  for (const info of ERRORS_BY_CODE.values()) if (info.name === name) return info.code;
  throw new ProgramClientError("IDL_MISMATCH", `the IDL declares no error named ${name}`);
}

/** What callers may hand to the error readers: an error, a simulation or status value, or logs. */
export type ErrorOrLogs = unknown;

interface FailureFacts {
  logs: string[] | null;
  instructionIndex: number | null;
  customCode: number | null;
}

const HEX_CODE = /custom program error: 0x([0-9a-fA-F]+)/;
const DEC_CODE = /Custom\((\d+)\)|"Custom":\s*(\d+)/;

/** Reads logs, the failing instruction index and the custom code out of whatever shape is given. */
function failureFacts(input: ErrorOrLogs): FailureFacts {
  const facts: FailureFacts = { logs: null, instructionIndex: null, customCode: null };
  const texts: string[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (value == null || depth > 4) return;
    if (typeof value === "string") {
      texts.push(value);
      return;
    }
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v === "string")) facts.logs ??= value as string[];
      return;
    }
    if (typeof value !== "object") return;
    const record = value as Record<string, unknown>;
    // web3.js TransactionError: { InstructionError: [index, { Custom: code } | "Name"] }
    const instructionError = record.InstructionError;
    if (Array.isArray(instructionError) && typeof instructionError[0] === "number") {
      facts.instructionIndex ??= instructionError[0];
      const detail = instructionError[1] as { Custom?: unknown } | string | undefined;
      if (detail && typeof detail === "object" && typeof detail.Custom === "number") facts.customCode ??= detail.Custom;
    }
    // The program test harness's outcome: { error: { customCode, instructionIndex } }.
    if (typeof record.customCode === "number") facts.customCode ??= record.customCode;
    if (typeof record.instructionIndex === "number") facts.instructionIndex ??= record.instructionIndex;
    for (const key of ["logs", "transactionLogs", "logMessages"]) {
      const logs = record[key];
      if (Array.isArray(logs) && logs.every((l) => typeof l === "string")) facts.logs ??= logs as string[];
    }
    if (value instanceof Error) texts.push(value.message);
    for (const key of ["err", "error", "value", "meta", "transactionError", "transactionMessage", "message", "cause"]) {
      if (key in record) visit(record[key], depth + 1);
    }
  };
  visit(input, 0);
  // Our program's own failure line names the code and proves it was this program that failed.
  const ours = `Program ${PROGRAM_ID.toBase58()} failed: `;
  const failedLine = facts.logs?.find((line) => line.startsWith(ours));
  if (failedLine) {
    const hex = HEX_CODE.exec(failedLine);
    if (hex) facts.customCode ??= Number.parseInt(hex[1]!, 16);
  }
  for (const text of texts) {
    if (facts.customCode !== null) break;
    const hex = HEX_CODE.exec(text);
    const dec = DEC_CODE.exec(text);
    if (hex) facts.customCode = Number.parseInt(hex[1]!, 16);
    else if (dec) facts.customCode = Number.parseInt((dec[1] ?? dec[2])!, 10);
  }
  return facts;
}

/**
 * The program error a failed transaction carries, from a web3.js SendTransactionError, a
 * simulation value ({ err, logs }), a TransactionError, transaction meta or bare logs; null when
 * none of the program's codes is found. `instructionIndex` says which instruction failed, when
 * known: with only a bare TransactionError the caller vouches that it is this program's.
 */
export function programErrorFromError(input: ErrorOrLogs): (ProgramErrorInfo & { instructionIndex: number | null }) | null {
  const facts = failureFacts(input);
  if (facts.customCode === null) return null;
  const info = decodeProgramError(facts.customCode);
  return info ? { ...info, instructionIndex: facts.instructionIndex } : null;
}

export interface RecipientRefusal {
  /** Index of the recipient among execute_split's recipient accounts (its transfers entry). */
  position: number;
  /** Name of the Recipient* error saying why, or "Unknown" when no logs came with the error. */
  reason: string;
  /** The refused token account, when the logs carried the RecipientRefused event. */
  recipient: PublicKey | null;
}

function refusalReason(code: number): string {
  return decodeProgramError(code)?.name ?? `Unknown(${code})`;
}

/**
 * Which recipient an execute_split refused, so the executor can hold exactly that one out: the
 * position comes from the error code (6100 + position), which even a bare signature status
 * carries; the reason and the account come from the RecipientRefused event when logs are given.
 * Null when the failure is not a refused recipient.
 */
export function recipientRefusalFromError(input: ErrorOrLogs): RecipientRefusal | null {
  const facts = failureFacts(input);
  const events = facts.logs ? recipientRefusedEvents(facts.logs) : [];
  const code = facts.customCode;
  const position =
    code !== null && code >= RECIPIENT_REFUSED_BASE && code < RECIPIENT_REFUSED_BASE + MAX_RECIPIENTS
      ? code - RECIPIENT_REFUSED_BASE
      : code === null
        ? (events[0]?.position ?? null)
        : null;
  if (position === null) return null;
  const event = events.find((e) => e.position === position);
  return { position, reason: event ? refusalReason(event.reason) : "Unknown", recipient: event?.recipient ?? null };
}

/** Every recipient a failed execute_split's logs name as unable to receive (one simulation finds all). */
export function recipientRefusalsFromLogs(logs: readonly string[]): RecipientRefusal[] {
  return recipientRefusedEvents(logs).map((e) => ({ position: e.position, reason: refusalReason(e.reason), recipient: e.recipient }));
}
