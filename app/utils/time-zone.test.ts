// The viewer's wall clock from an instant: the same text for the same zone, daylight saving honoured,
// and a cookie value that is not a known zone ignored rather than trusted.
import { describe, expect, it } from "vitest";
import { formatInstant, isTimeZone, TIME_ZONE_COOKIE, timeZoneFromCookie, wallClock } from "./time-zone";

describe("formatInstant", () => {
  const instant = new Date("2026-07-01T22:30:05Z");

  it("prints the wall clock of the zone with its short name", () => {
    expect(formatInstant(instant, "UTC")).toBe("2026-07-01 22:30:05 UTC");
    // Berlin is UTC+2 in July: already the next day there.
    expect(formatInstant(instant, "Europe/Berlin")).toBe("2026-07-02 00:30:05 GMT+2");
    expect(formatInstant(new Date("2026-12-02T12:00:00Z"), "Europe/Berlin")).toBe("2026-12-02 13:00:00 GMT+1");
    expect(formatInstant(instant, "America/Los_Angeles", { dateOnly: true })).toBe("2026-07-01");
  });

  it("a half-hour zone and midnight in 24-hour form", () => {
    expect(wallClock(new Date("2026-01-01T18:30:00Z"), "Asia/Kolkata")).toMatchObject({ date: "2026-01-02", time: "00:00:00" });
  });

  it("falls back to UTC for an unknown zone and says so for an invalid date", () => {
    expect(formatInstant(instant, "Mars/Olympus")).toBe("2026-07-01 22:30:05 UTC");
    expect(formatInstant(new Date("nope"), "UTC")).toBe("(invalid time)");
  });
});

describe("timeZoneFromCookie", () => {
  it("reads a known zone and refuses anything else", () => {
    expect(timeZoneFromCookie(`a=b; ${TIME_ZONE_COOKIE}=${encodeURIComponent("America/New_York")}`)).toBe("America/New_York");
    expect(timeZoneFromCookie(`${TIME_ZONE_COOKIE}=Mars%2FOlympus`)).toBeNull();
    expect(timeZoneFromCookie(`${TIME_ZONE_COOKIE}=%E0%A4%A`)).toBeNull();
    expect(timeZoneFromCookie(`${TIME_ZONE_COOKIE}=<script>`)).toBeNull();
    expect(timeZoneFromCookie(null)).toBeNull();
    expect(isTimeZone("UTC")).toBe(true);
    expect(isTimeZone("")).toBe(false);
  });
});
