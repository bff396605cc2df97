// How long the vault lasts: its balance against the average of the organization's recent payout runs and
// against what runs already compiled still have to pay. Pure bigint arithmetic (floor division: a run the
// vault can only partly pay is not covered).

/** Fewer runs covered than this (or less than what is already owed) raises the low-balance warning. */
export const LOW_BALANCE_RUNS = 3n;

export interface RunwayInput {
  /** Base units in the vault now. */
  vaultBalance: bigint;
  /** Totals of the organization's recent runs that paid out (settled or partly), in base units. */
  recentRunTotals: readonly bigint[];
  /** What compiled runs not yet settled still have to pay. */
  owed: bigint;
}

export type RunwayWarning = "EMPTY" | "BELOW_OWED" | "FEW_RUNS";

export interface Runway {
  /** Floor of the mean of `recentRunTotals`, or null with no run to average. */
  averageRun: bigint | null;
  /** Whole average runs the balance pays, or null without an average. */
  runsCovered: bigint | null;
  owed: bigint;
  /** Empty when the balance is comfortable. */
  warnings: RunwayWarning[];
}

export function treasuryRunway(input: RunwayInput): Runway {
  const runs = input.recentRunTotals.filter((total) => total > 0n);
  const averageRun = runs.length === 0 ? null : runs.reduce((sum, total) => sum + total, 0n) / BigInt(runs.length);
  const runsCovered = averageRun === null || averageRun === 0n ? null : input.vaultBalance / averageRun;
  const warnings: RunwayWarning[] = [];
  if (input.vaultBalance === 0n) warnings.push("EMPTY");
  if (input.vaultBalance < input.owed) warnings.push("BELOW_OWED");
  if (runsCovered !== null && runsCovered < LOW_BALANCE_RUNS && input.vaultBalance > 0n) warnings.push("FEW_RUNS");
  return { averageRun, runsCovered, owed: input.owed, warnings };
}
