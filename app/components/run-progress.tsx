// A payout run's batches, state by state, kept live while the run executes: the server renders the table as
// it stands (readable without JavaScript), and in the browser an EventSource on /console/runs/<id>/events
// replaces each row's state as the executor moves it, then refreshes the page's data once the run is done
// (fees, costs, holds). No reload, no polling of the whole page.
import { Link, useRevalidator } from "@remix-run/react";
import { useEffect, useState } from "react";

export interface ProgressBatch {
  id: string;
  index: number;
  state: string;
  signature: string | null;
  error: string | null;
}

export interface Progress {
  status: string;
  batches: ProgressBatch[];
}

const LIVE = new Set(["APPROVED", "EXECUTING"]);

export function useRunProgress(runId: string, initial: Progress): { progress: Progress; live: boolean } {
  const [progress, setProgress] = useState(initial);
  const [live, setLive] = useState(false);
  const revalidator = useRevalidator();
  // A new loader result (after an action or a revalidation) is the newer truth. Compared by value: the
  // caller builds `initial` afresh on every render, and an effect keyed on the object would loop.
  const initialKey = JSON.stringify(initial);
  useEffect(() => setProgress(JSON.parse(initialKey) as Progress), [initialKey]);
  useEffect(() => {
    if (!LIVE.has(initial.status) || typeof EventSource === "undefined") return;
    const source = new EventSource(`/console/runs/${runId}/events`);
    source.addEventListener("open", () => setLive(true));
    source.addEventListener("progress", (event) => {
      const next = JSON.parse((event as MessageEvent<string>).data) as Progress;
      setProgress(next);
      if (!LIVE.has(next.status)) {
        source.close();
        setLive(false);
        revalidator.revalidate();
      }
    });
    source.addEventListener("error", () => setLive(false));
    return () => source.close();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- one stream per run and initial state
  }, [runId, initial.status]);
  return { progress, live };
}

export function RunStatusLine({ status, live }: { status: string; live: boolean }) {
  return (
    <p role="status" aria-live="polite" data-run-status={status}>
      State: <strong>{status.toLowerCase()}</strong>
      {live ? <span className="muted"> · live: batches update as the executor settles them</span> : null}
    </p>
  );
}

export function BatchStateCell({ batch }: { batch: ProgressBatch }) {
  return (
    <td data-batch-state={batch.state}>
      {batch.state}
      {batch.error ? <span className="bad"> — {batch.error}</span> : null}
    </td>
  );
}

export function SignatureLink({ signature }: { signature: string | null }) {
  if (!signature) return <span className="muted">none yet</span>;
  return (
    <Link to={`/explorer/tx/${signature}`}>
      <code>{signature.slice(0, 12)}…</code>
    </Link>
  );
}
