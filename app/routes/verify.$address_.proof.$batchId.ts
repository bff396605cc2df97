// GET /verify/:address/proof/:batchId: the proof of one payout to :address, as a JSON download that
// `npm run verify` checks against any RPC endpoint. 404 when that batch paid nothing to the address.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { loadProofDownload } from "~/settlement/verify-pages.server";

export function loader({ params, context }: LoaderFunctionArgs) {
  return loadProofDownload({ address: params.address, batchId: params.batchId, context });
}
