// Payout schedule windows in a time zone: hours, days and ISO weeks, across daylight saving changes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertTimeZone, localDayStart, payoutWindowOf, ScheduleError, type WindowSchedule } from "./payout-schedule";

const iso = (d: Date) => d.toISOString();

describe("payoutWindowOf", () => {
  it("a UTC day is midnight to midnight", () => {
    const w = payoutWindowOf(new Date("2031-06-01T14:30:00Z"), "DAILY", "UTC");
    expect([iso(w.startsAt), iso(w.endsAt)]).toEqual(["2031-06-01T00:00:00.000Z", "2031-06-02T00:00:00.000Z"]);
  });

  it("a day in Tokyo closes at 15:00 UTC; 23:30 and 00:30 local are in different windows", () => {
    const late = payoutWindowOf(new Date("2031-06-01T14:30:00Z"), "DAILY", "Asia/Tokyo");
    const early = payoutWindowOf(new Date("2031-06-01T15:30:00Z"), "DAILY", "Asia/Tokyo");
    expect([iso(late.startsAt), iso(late.endsAt)]).toEqual(["2031-05-31T15:00:00.000Z", "2031-06-01T15:00:00.000Z"]);
    expect(iso(early.startsAt)).toBe("2031-06-01T15:00:00.000Z");
  });

  it("Berlin's days around the clock changes last 23 and 25 hours", () => {
    // 2031: summer time starts Sunday 30 March, ends Sunday 26 October
    const spring = payoutWindowOf(new Date("2031-03-30T12:00:00Z"), "DAILY", "Europe/Berlin");
    const autumn = payoutWindowOf(new Date("2031-10-26T12:00:00Z"), "DAILY", "Europe/Berlin");
    expect([iso(spring.startsAt), iso(spring.endsAt)]).toEqual(["2031-03-29T23:00:00.000Z", "2031-03-30T22:00:00.000Z"]);
    expect([iso(autumn.startsAt), iso(autumn.endsAt)]).toEqual(["2031-10-25T22:00:00.000Z", "2031-10-26T23:00:00.000Z"]);
  });

  it("a week starts on Monday, local time", () => {
    // Sunday 8 June 2031, 23:00 in New York (Monday 03:00 UTC) is still the week of Monday 2 June
    const w = payoutWindowOf(new Date("2031-06-09T03:00:00Z"), "WEEKLY", "America/New_York");
    expect([iso(w.startsAt), iso(w.endsAt)]).toEqual(["2031-06-02T04:00:00.000Z", "2031-06-09T04:00:00.000Z"]);
  });

  it("an hour in Kolkata (UTC+5:30) starts at half past, UTC", () => {
    const w = payoutWindowOf(new Date("2031-06-01T10:10:00Z"), "HOURLY", "Asia/Kolkata");
    expect([iso(w.startsAt), iso(w.endsAt)]).toEqual(["2031-06-01T09:30:00.000Z", "2031-06-01T10:30:00.000Z"]);
  });

  it("error: a time zone the runtime does not know", () => {
    expect(() => assertTimeZone("Mars/Olympus_Mons")).toThrow(/not an IANA time zone/);
    expect(() => payoutWindowOf(new Date(), "DAILY", "Nowhere/City")).toThrow(expect.objectContaining({ code: "SCHEDULE_TIME_ZONE_INVALID" }));
  });

  it("property: every instant is in exactly one window, and consecutive windows touch", () => {
    const zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Sao_Paulo"];
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2020-01-01T00:00:00Z"), max: new Date("2040-01-01T00:00:00Z"), noInvalidDate: true }),
        fc.constantFrom<WindowSchedule>("HOURLY", "DAILY", "WEEKLY"),
        fc.constantFrom(...zones),
        (at, schedule, zone) => {
          const w = payoutWindowOf(at, schedule, zone);
          expect(w.startsAt.getTime()).toBeLessThanOrEqual(at.getTime());
          expect(w.endsAt.getTime()).toBeGreaterThan(at.getTime());
          const next = payoutWindowOf(w.endsAt, schedule, zone);
          expect(next.startsAt.getTime()).toBe(w.endsAt.getTime());
          const length = w.endsAt.getTime() - w.startsAt.getTime();
          const nominal = { HOURLY: 3_600_000, DAILY: 86_400_000, WEEKLY: 7 * 86_400_000 }[schedule];
          // at most a clock change (an hour, or half an hour on Lord Howe Island) longer or shorter
          expect(Math.abs(length - nominal)).toBeLessThanOrEqual(3_600_000);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("localDayStart", () => {
  it("is local midnight as a UTC instant, 23 hours before the next one on the day the clocks go forward", () => {
    expect(localDayStart("2026-12-01", "UTC").toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(localDayStart("2026-12-01", "Europe/Berlin").toISOString()).toBe("2026-11-30T23:00:00.000Z");
    expect(localDayStart("2026-12-01", "Pacific/Kiritimati").toISOString()).toBe("2026-11-30T10:00:00.000Z");
    const spring = localDayStart("2026-03-29", "Europe/Berlin").getTime();
    expect(localDayStart("2026-03-30", "Europe/Berlin").getTime() - spring).toBe(23 * 3_600_000);
  });

  it("error: not a day, or not a zone", () => {
    expect(() => localDayStart("2026-1-1", "UTC")).toThrow(RangeError);
    expect(() => localDayStart("2026-01-01", "Mars/Olympus")).toThrow(ScheduleError);
  });
});
