// /api/v1/openapi.json: the operator API's OpenAPI 3.1 document (public: it describes, it grants nothing).
import { openApiDocument } from "~/api/openapi.server";

export function loader() {
  return new Response(JSON.stringify(openApiDocument()), {
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=300" },
  });
}
