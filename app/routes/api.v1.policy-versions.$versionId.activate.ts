// /api/v1/policy-versions/{versionId}/activate: make a DRAFT version active.
import { apiRoute } from "~/api/handler.server";
import { activatePolicyVersionOperation } from "~/api/writes.server";

const route = apiRoute({ POST: activatePolicyVersionOperation });
export const loader = route.loader;
export const action = route.action;
