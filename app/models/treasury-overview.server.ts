// What the overview and the treasury page show of the organization's money: the vault read from the chain
// (or the sentence why it cannot be), its runway against recent runs with the low-balance warning, and the
// revenue-against-payouts chart. Everything leaves as strings (amounts as decimal base units), ready for
// a loader.
import { formatTokenAmount } from "~/ledger/money";
import { LOW_BALANCE_RUNS, treasuryRunway, type RunwayWarning } from "~/ledger/treasury-runway";
import { RpcError } from "~/settlement/rpc-errors";
import type { TreasuryMovementKind } from "~/settlement/treasury-events";
import { organizationTreasury, readOrganizationTreasury, treasuryHistory, type TreasuryReading } from "~/settlement/treasury-view.server";
import type { Database } from "~/utils/db.server";
import type { Env } from "~/utils/env.server";
import { loadMoneyFlow, loadRunwayFacts, revenueInTokenUnits, type RunwayFacts } from "./money-flow.server";

/** Decimals of the payout token before anything says otherwise: sUSD's and USDC's. */
const DEFAULT_TOKEN_DECIMALS = 6;

export type TreasuryView =
  | { status: "ok"; treasury: string; vault: string; mint: string; authority: string; fundingAccount: string; decimals: number; symbol: string; tokenLabel: string | null; balance: string; balanceText: string; totalSettledText: string; splitsExecuted: string; paused: boolean; rpcUrl: string }
  | { status: Exclude<TreasuryReading["status"], "ok">; sentence: string; treasury: string | null; vault: string | null; mint: string | null };

export function treasuryView(reading: TreasuryReading): TreasuryView {
  if (reading.status === "ok") {
    const symbol = reading.token.symbol ?? "tokens";
    return {
      status: "ok",
      treasury: reading.treasury,
      vault: reading.vault,
      mint: reading.mint,
      authority: reading.authority,
      fundingAccount: reading.fundingAccount,
      decimals: reading.decimals,
      symbol,
      tokenLabel: reading.token.label ?? null,
      balance: reading.vaultBalance.toString(),
      balanceText: formatTokenAmount(reading.vaultBalance, reading.decimals, symbol),
      totalSettledText: formatTokenAmount(reading.totalSettled, reading.decimals, symbol),
      splitsExecuted: reading.splitsExecuted.toString(),
      paused: reading.paused,
      rpcUrl: reading.rpcUrl,
    };
  }
  const addresses = "treasury" in reading ? reading : reading.addresses;
  return { status: reading.status, sentence: reading.sentence, treasury: addresses?.treasury ?? null, vault: addresses?.vault ?? null, mint: addresses?.mint ?? null };
}

const WARNING_SENTENCES: Record<RunwayWarning, (owed: string, runs: string) => string> = {
  EMPTY: () => "The vault is empty: no payout run can settle until it is funded.",
  BELOW_OWED: (owed) => `The vault holds less than the ${owed} that compiled runs still have to pay.`,
  FEW_RUNS: (_owed, runs) => `The vault covers only ${runs} average run${runs === "1" ? "" : "s"} (warning below ${LOW_BALANCE_RUNS}).`,
};

export interface TreasuryOverview {
  treasury: TreasuryView;
  runway: { averageRun: string | null; runsCovered: string | null; owed: string; warnings: string[] } | null;
  chart: { days: { day: string; revenue: string; payouts: string }[]; decimals: number; symbol: string; timeZone: string; otherCurrencyPayments: number };
}

function runwayView(reading: TreasuryReading, facts: RunwayFacts, symbol: string): TreasuryOverview["runway"] {
  if (reading.status !== "ok") return null;
  const r = treasuryRunway({ vaultBalance: reading.vaultBalance, recentRunTotals: facts.recentRunTotals, owed: facts.owed });
  const owedText = formatTokenAmount(r.owed, reading.decimals, symbol);
  const runsText = r.runsCovered?.toString() ?? "0";
  return {
    averageRun: r.averageRun === null ? null : formatTokenAmount(r.averageRun, reading.decimals, symbol),
    runsCovered: r.runsCovered?.toString() ?? null,
    owed: owedText,
    warnings: r.warnings.map((w) => WARNING_SENTENCES[w](owedText, runsText)),
  };
}

export async function loadTreasuryOverview(
  db: Pick<Database, "query">,
  env: Env,
  organization: { id: string; slug: string },
  timeZone: string,
): Promise<TreasuryOverview> {
  const [reading, flow, facts] = await Promise.all([
    readOrganizationTreasury(env, organization.id, organization.slug),
    loadMoneyFlow(db, organization.id, { timeZone }),
    loadRunwayFacts(db, organization.id),
  ]);
  const treasury = treasuryView(reading);
  const decimals = reading.status === "ok" ? reading.decimals : (facts.tokenDecimals ?? DEFAULT_TOKEN_DECIMALS);
  const symbol = treasury.status === "ok" ? treasury.symbol : "tokens";
  return {
    treasury,
    runway: runwayView(reading, facts, symbol),
    chart: {
      days: flow.days.map((d) => ({ day: d.day, revenue: revenueInTokenUnits(d, decimals).toString(), payouts: d.payoutUnits.toString() })),
      decimals,
      symbol,
      timeZone,
      otherCurrencyPayments: flow.otherCurrencyPayments,
    },
  };
}

export interface TreasuryPage extends Pick<TreasuryOverview, "treasury" | "runway"> {
  history:
    | { status: "ok"; entries: { signature: string; slot: number; blockTime: string | null; kind: TreasuryMovementKind; amount: string; counterparty: string }[]; olderBefore: string | null; failed: number }
    | { status: "unavailable"; sentence: string }
    | null;
}

const SIGNATURE = /^[1-9A-HJ-NP-Za-km-z]{64,88}$/;

/** The treasury page: the vault, its runway, and one page of its on-chain history (older pages by `before`). */
export async function loadTreasuryPage(db: Pick<Database, "query">, env: Env, organization: { id: string; slug: string }, options: { before?: string | null } = {}): Promise<TreasuryPage> {
  const [reading, facts] = await Promise.all([readOrganizationTreasury(env, organization.id, organization.slug), loadRunwayFacts(db, organization.id)]);
  const treasury = treasuryView(reading);
  const runway = runwayView(reading, facts, treasury.status === "ok" ? treasury.symbol : "tokens");
  if (reading.status !== "ok") return { treasury, runway, history: null };
  const found = await organizationTreasury(env, organization.id);
  if ("status" in found) return { treasury, runway, history: null };
  const before = options.before && SIGNATURE.test(options.before) ? options.before : undefined;
  try {
    const page = await treasuryHistory(found.client, found.identity, { before });
    return {
      treasury,
      runway,
      history: {
        status: "ok",
        entries: page.entries.map((e) => ({
          signature: e.signature,
          slot: e.slot,
          blockTime: e.blockTime === null ? null : new Date(e.blockTime * 1000).toISOString(),
          kind: e.kind,
          amount: formatTokenAmount(e.amount, reading.decimals, treasury.status === "ok" ? treasury.symbol : undefined),
          counterparty: e.counterparty,
        })),
        olderBefore: page.olderBefore,
        failed: page.failed,
      },
    };
  } catch (error) {
    if (error instanceof RpcError) return { treasury, runway, history: { status: "unavailable", sentence: `The chain did not return the treasury's history (${error.message}).` } };
    throw error;
  }
}
