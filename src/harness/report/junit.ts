import { describeFailure, describeGate, type GateResult } from "../run/gates.ts";

/**
 * Gate results as JUnit XML, the one test-report format every CI system reads: one test suite per run,
 * one test case per gate, a failure element carrying the figure and by how much it missed.
 */
export function gatesJUnitXml(input: {
  runId: string;
  scenario: string;
  durationMs: number;
  results: readonly GateResult[];
}): string {
  const { runId, scenario, durationMs, results } = input;
  const failures = results.filter((r) => !r.pass).length;
  const cases = results.map((result) => {
    const name = escapeXml(describeGate(result));
    const open = `    <testcase classname="${escapeXml(`fs-esl-lab.${scenario}.${result.source}`)}" name="${name}" time="0">`;
    if (result.pass) {
      return `${open}\n      <system-out>${escapeXml(`actual ${result.actual}`)}</system-out>\n    </testcase>`;
    }
    const message = escapeXml(describeFailure(result));
    return `${open}\n      <failure message="${message}" type="gate">${message}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="fs-esl-lab gates" tests="${results.length}" failures="${failures}">`,
    `  <testsuite name="${escapeXml(scenario)}" id="${escapeXml(runId)}" tests="${results.length}" failures="${failures}" errors="0" time="${(durationMs / 1000).toFixed(3)}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}
