import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/gateway/openapi.ts";

describe("OpenAPI document", () => {
  it("docs/openapi.json matches the routes' schemas (run `npm run openapi` after changing them)", async () => {
    const committed = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"));
    const current = await openApiDocument();
    expect(current).toEqual(committed);
    expect(Object.keys(committed.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/fs/originate",
        "/api/v1/fs/hangup/{call_uuid}",
        "/api/v1/fs/channels",
        "/health",
      ]),
    );
  });
});
