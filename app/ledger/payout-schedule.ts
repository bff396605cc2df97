// Payout schedule windows: the hour, day or ISO week (Monday first) that contains an instant, in an IANA
// time zone, as the UTC instants where it opens and closes. Pure (Intl only). Daylight saving time is
// honoured: a local day is 23 or 25 hours long on the days the clocks change, and its window is too.
import { LedgerError } from "./money";

export const PAYOUT_SCHEDULES = ["INSTANT", "HOURLY", "DAILY", "WEEKLY"] as const;
export type PayoutSchedule = (typeof PAYOUT_SCHEDULES)[number];
export type WindowSchedule = Exclude<PayoutSchedule, "INSTANT">;

export class ScheduleError extends LedgerError {
  readonly code = "SCHEDULE_TIME_ZONE_INVALID" as const;
}

export interface PayoutWindowBounds {
  schedule: WindowSchedule;
  timeZone: string;
  /** Inclusive. */
  startsAt: Date;
  /** Exclusive: the close, when the sweep is due. */
  endsAt: Date;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
    } catch {
      throw new ScheduleError(`"${timeZone}" is not an IANA time zone this runtime knows`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Throws ScheduleError unless `timeZone` names a zone (e.g. "Europe/Berlin", "UTC"). */
export function assertTimeZone(timeZone: string): string {
  formatterFor(timeZone);
  return timeZone;
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localTime(instantMs: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** The zone's offset from UTC at an instant, in ms (local = UTC + offset). */
function offsetAt(instantMs: number, timeZone: string): number {
  const t = localTime(instantMs, timeZone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return asUtc - (instantMs - (instantMs % 1000 + 1000) % 1000);
}

/**
 * The first instant at or after which the local clock reads `year-month-day 00:00` (local midnight).
 * Where a zone skips midnight (a DST change at 00:00), the day starts when the clock jumps.
 */
function startOfLocalDay(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // Two passes settle the offset (it can differ between the guess and the answer across a change).
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  const t = localTime(guess, timeZone);
  if (Date.UTC(t.year, t.month - 1, t.day) < wall) {
    // Midnight does not exist locally that day: the day begins at the first instant that is that date.
    let low = guess;
    let high = guess + 3 * 3_600_000;
    while (high - low > 1000) {
      const mid = low + Math.floor((high - low) / 2000) * 1000;
      const m = localTime(mid, timeZone);
      if (Date.UTC(m.year, m.month - 1, m.day) < wall) low = mid;
      else high = mid;
    }
    return high;
  }
  return guess;
}

/** The instant a calendar day ("2026-12-01") begins in `timeZone` (see startOfLocalDay). */
export function localDayStart(day: string, timeZone: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) throw new RangeError(`localDayStart: "${day}" is not YYYY-MM-DD`);
  return new Date(startOfLocalDay(Number(match[1]), Number(match[2]), Number(match[3]), assertTimeZone(timeZone)));
}

/** The window of `schedule` in `timeZone` that contains `at`. */
export function payoutWindowOf(at: Date, schedule: WindowSchedule, timeZone: string): PayoutWindowBounds {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("payoutWindowOf: invalid date");
  const local = localTime(ms, timeZone);
  let startsMs: number;
  let endsMs: number;
  if (schedule === "HOURLY") {
    // An hour of local clock time is an hour of real time, also across a change (the offset moves by whole
    // hours or half hours, and a local hour starts where the minutes and seconds are zero).
    startsMs = ms - (local.minute * 60 + local.second) * 1000 - (((ms % 1000) + 1000) % 1000);
    endsMs = startsMs + 3_600_000;
  } else {
    const daysBack = schedule === "WEEKLY" ? (new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay() + 6) % 7 : 0;
    const first = new Date(Date.UTC(local.year, local.month - 1, local.day - daysBack));
    const next = new Date(Date.UTC(local.year, local.month - 1, local.day - daysBack + (schedule === "WEEKLY" ? 7 : 1)));
    startsMs = startOfLocalDay(first.getUTCFullYear(), first.getUTCMonth() + 1, first.getUTCDate(), timeZone);
    endsMs = startOfLocalDay(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone);
  }
  return { schedule, timeZone, startsAt: new Date(startsMs), endsAt: new Date(endsMs) };
}
