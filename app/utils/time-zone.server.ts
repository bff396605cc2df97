// The zone a page renders times in on the server: the browser's, from the cookie <LocalTime> sets, or UTC.
import { timeZoneFromCookie } from "./time-zone";

export function viewerTimeZone(request: Request, fallback = "UTC"): string {
  return timeZoneFromCookie(request.headers.get("cookie")) ?? fallback;
}
