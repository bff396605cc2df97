// GET /console/runs/<id>/events: the run's progress as Server-Sent Events, for its page's live view. One
// `progress` event at once, then one whenever the run's state or a batch's changes (the database read every
// half second), a comment line every 15 s to keep proxies from closing the stream, and the end once the run
// is no longer approved or executing (or after 15 minutes: the browser's EventSource then reconnects).
// Any operator of the run's organization may listen, viewers too; another organization's run is not found.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { payoutRunProgress } from "~/models/payout-run-views.server";
import { getDatabase } from "~/utils/db.server";
import { requireOperator } from "~/utils/session.server";

const POLL_MS = 500;
const HEARTBEAT_MS = 15_000;
const MAX_STREAM_MS = 15 * 60_000;
const LIVE = new Set(["APPROVED", "EXECUTING"]);

export async function loader({ request, params }: LoaderFunctionArgs) {
  const auth = await requireOperator(request);
  const db = await getDatabase();
  const runId = params.runId ?? "";
  const organizationId = auth.actor.organizationId;
  const first = /^[0-9a-f-]{36}$/i.test(runId) ? await payoutRunProgress(db, organizationId, runId) : null;
  if (!first) throw new Response("There is no such payout run in your organization.", { status: 404 });
  const encoder = new TextEncoder();
  let stop = () => undefined as void;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let last = "";
      let closed = false;
      let lastWrite = Date.now();
      const started = Date.now();
      const write = (text: string) => {
        if (closed) return;
        controller.enqueue(encoder.encode(text));
        lastWrite = Date.now();
      };
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        request.signal.removeEventListener("abort", close);
        controller.close();
      };
      stop = close;
      const send = (progress: NonNullable<typeof first>) => {
        const json = JSON.stringify(progress);
        if (json !== last) {
          last = json;
          write(`event: progress\ndata: ${json}\n\n`);
        }
        if (!LIVE.has(progress.status) || Date.now() - started > MAX_STREAM_MS) close();
      };
      let reading = false;
      const timer = setInterval(() => {
        if (reading || closed) return;
        reading = true;
        payoutRunProgress(db, organizationId, runId)
          .then((progress) => (progress ? send(progress) : close()))
          .catch(() => close())
          .finally(() => {
            reading = false;
            if (Date.now() - lastWrite > HEARTBEAT_MS) write(": still here\n\n");
          });
      }, POLL_MS);
      request.signal.addEventListener("abort", close);
      // A reconnecting browser waits 2 s, not the default 3.
      write("retry: 2000\n\n");
      send(first);
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no" },
  });
}
