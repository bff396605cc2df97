// /api/v1/policy-versions/{versionId}: one policy version with its rules.
import { apiRoute } from "~/api/handler.server";
import { getPolicyVersion } from "~/api/reads.server";

const route = apiRoute({ GET: getPolicyVersion });
export const loader = route.loader;
export const action = route.action;
