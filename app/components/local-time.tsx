// <LocalTime>: an instant in the viewer's time zone, for every page. The server renders it in the zone
// the TimeZoneProvider names (the browser's own, once its cookie has been set; UTC before that) inside a
// <time dateTime> that machines and screen readers read exactly; after hydration the browser shows its
// own zone and remembers it in a cookie, so the next page is rendered in it on the server already.
// Without JavaScript the text stays in the provider's zone, labelled with that zone's name.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { formatInstant, TIME_ZONE_COOKIE } from "~/utils/time-zone";

const TimeZoneContext = createContext<string>("UTC");

/** The zone <LocalTime> renders in on the server (from `viewerTimeZone(request)`); UTC without one. */
export function TimeZoneProvider({ zone, children }: { zone: string; children: ReactNode }) {
  return <TimeZoneContext.Provider value={zone}>{children}</TimeZoneContext.Provider>;
}

let remembered = false;

function browserTimeZone(): string | null {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

/** The zone to show: the provider's during the server render and hydration, the browser's after. */
export function useViewerTimeZone(): string {
  const rendered = useContext(TimeZoneContext);
  const [zone, setZone] = useState(rendered);
  useEffect(() => {
    const browser = browserTimeZone();
    if (!browser) return;
    if (browser !== rendered) setZone(browser);
    if (!remembered) {
      remembered = true;
      document.cookie = `${TIME_ZONE_COOKIE}=${encodeURIComponent(browser)}; Path=/; Max-Age=31536000; SameSite=Lax`;
    }
  }, [rendered]);
  return zone;
}

export function LocalTime({ value, dateOnly = false, className }: { value: string | Date; dateOnly?: boolean; className?: string }) {
  const zone = useViewerTimeZone();
  const instant = typeof value === "string" ? new Date(value) : value;
  const valid = !Number.isNaN(instant.getTime());
  return (
    <time
      dateTime={valid ? instant.toISOString() : undefined}
      title={valid ? `${instant.toISOString().replace("T", " ").slice(0, 19)} UTC` : undefined}
      className={className}
      // The browser's zone may differ from the server's on purpose; the effect then re-renders it.
      suppressHydrationWarning
    >
      {formatInstant(instant, zone, { dateOnly })}
    </time>
  );
}
