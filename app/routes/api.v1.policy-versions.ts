// /api/v1/policy-versions: list (GET) and create (POST) payout policy versions.
import { apiRoute } from "~/api/handler.server";
import { createPolicyVersionOperation } from "~/api/writes.server";
import { listPolicyVersions } from "~/api/reads.server";

const route = apiRoute({ GET: listPolicyVersions, POST: createPolicyVersionOperation });
export const loader = route.loader;
export const action = route.action;
