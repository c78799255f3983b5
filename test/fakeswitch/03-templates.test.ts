import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { templatesDir, writeTemplates } from "../../tools/extract-templates.ts";

describe("event templates", () => {
  const scratch = mkdtempSync(join(tmpdir(), "event-templates-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("src/fakeswitch/event-templates is what the captures give (run `npx tsx tools/extract-templates.ts` after changing the extractor or a capture)", () => {
    writeTemplates(scratch);
    const extracted = readdirSync(scratch).sort();
    expect(readdirSync(templatesDir).sort()).toEqual(extracted);
    for (const file of extracted) {
      // The text, not the parsed JSON: the committed files are exactly what the tool writes.
      expect(readFileSync(join(templatesDir, file), "utf8"), file).toBe(
        readFileSync(join(scratch, file), "utf8"),
      );
    }
  });
});
