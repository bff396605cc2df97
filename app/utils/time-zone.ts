// Times for people: an instant as the viewer's wall clock in an IANA time zone ("2026-12-02 18:05:09 GMT+1"),
// built from Intl's parts so that the server and the browser print the same text for the same zone. The
// viewer's zone travels in a cookie the browser sets (see app/components/local-time.tsx), so the server
// can render it directly from the second page view on. Shared by server and client: no Node APIs.

/** The cookie that carries the browser's time zone (not a secret: readable by scripts on purpose). */
export const TIME_ZONE_COOKIE = "stableflow_tz";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  const known = formatters.get(timeZone);
  if (known) return known;
  try {
    const formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      timeZoneName: "short",
    });
    formatters.set(timeZone, formatter);
    return formatter;
  } catch {
    return null;
  }
}

/** True when `zone` is an IANA time zone this runtime knows ("Europe/Berlin", "UTC"). */
export function isTimeZone(zone: string): boolean {
  return zone.length > 0 && zone.length <= 64 && /^[A-Za-z0-9_+\-/]+$/.test(zone) && formatterFor(zone) !== null;
}

export interface WallClock {
  date: string;
  time: string;
  zoneName: string;
}

/** The wall clock at `instant` in `timeZone` (UTC when the zone is unknown). */
export function wallClock(instant: Date, timeZone: string): WallClock {
  const formatter = formatterFor(timeZone) ?? formatterFor("UTC")!;
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(instant)) parts[part.type] = part.value;
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}`, zoneName: parts.timeZoneName ?? timeZone };
}

/** "2026-12-02 18:05:09 GMT+1"; with `dateOnly`, "2026-12-02". */
export function formatInstant(instant: Date, timeZone: string, options: { dateOnly?: boolean } = {}): string {
  if (Number.isNaN(instant.getTime())) return "(invalid time)";
  const clock = wallClock(instant, timeZone);
  return options.dateOnly ? clock.date : `${clock.date} ${clock.time} ${clock.zoneName}`;
}

/** The viewer's zone from a Cookie header, or null when it carries none this runtime knows. */
export function timeZoneFromCookie(cookieHeader: string | null | undefined): string | null {
  for (const part of (cookieHeader ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index === -1 || part.slice(0, index).trim() !== TIME_ZONE_COOKIE) continue;
    let value: string;
    try {
      value = decodeURIComponent(part.slice(index + 1).trim());
    } catch {
      return null;
    }
    return isTimeZone(value) ? value : null;
  }
  return null;
}
