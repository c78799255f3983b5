import { describe, expect, it } from "vitest";
import { SUMMARY_SCHEMA_VERSION } from "../../src/harness/report/summary.ts";
import { summarySchemaErrors } from "./summary-schema.ts";
import { syntheticSummary } from "./synthetic-summary.ts";

describe("summary.json schema (docs/summary.schema.json)", () => {
  it("describes the summaries the harness writes", () => {
    expect(SUMMARY_SCHEMA_VERSION).toBe(3);
    expect(
      summarySchemaErrors(JSON.parse(JSON.stringify(syntheticSummary("20260101T000000Z-synthetic-0001")))),
    ).toEqual([]);
  });

  it("refuses another schema version, a missing section field and a malformed gate", () => {
    const summary = JSON.parse(JSON.stringify(syntheticSummary("20260101T000000Z-synthetic-0001")));
    summary.schemaVersion = 2;
    delete summary.calls.erlangs;
    summary.gates[0].operator = "≈";
    expect(summarySchemaErrors(summary)).toEqual([
      "/schemaVersion must be equal to constant",
      "/calls must have required property 'erlangs'",
      "/gates/0/operator must be equal to one of the allowed values",
    ]);
  });

  it("checks the SIP section: Kamailio's rows, each SIPp's calls and response times, a phase's SIP counts", () => {
    const summary = JSON.parse(JSON.stringify(syntheticSummary("20260101T000000Z-synthetic-0001")));
    delete summary.sip.kamailio.series[3].invites;
    summary.sip.sipp[0].calls.failedBy.MaxUDPRetrans = -1;
    delete summary.sip.sipp[0].responseTime.hdr;
    delete summary.phases[0].sip.kamailio;
    expect(summarySchemaErrors(summary).sort()).toEqual([
      "/phases/0/sip must have required property 'kamailio'",
      "/sip/kamailio/series/3 must have required property 'invites'",
      "/sip/sipp/0/calls/failedBy/MaxUDPRetrans must be >= 0",
      "/sip/sipp/0/responseTime must have required property 'hdr'",
    ]);
  });

  it("checks the publisher section: the stored events against those counted published", () => {
    const summary = JSON.parse(JSON.stringify(syntheticSummary("20260101T000000Z-synthetic-0001")));
    summary.publisher.unstored = -1;
    delete summary.publisher.stream;
    expect(summarySchemaErrors(summary).sort()).toEqual([
      "/publisher must have required property 'stream'",
      "/publisher/unstored must be >= 0",
    ]);
  });
});
