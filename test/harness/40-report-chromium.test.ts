import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { renderHtmlReport } from "../../src/harness/report/html-report.ts";
import { reportCharts } from "../../src/harness/report/report-charts.ts";
import { syntheticSummary } from "./synthetic-summary.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `SKIPPED the report-in-a-browser test: ${CHROMIUM} is absent (apt-get install -y chromium; .ci/run does)`,
  );
}
const dir = mkdtempSync(join(tmpdir(), "harness-report-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("report.html", () => {
  const summary = syntheticSummary("20260101T000000Z-synthetic-0001");

  it("has data for every chart", () => {
    const charts = reportCharts(summary);
    expect(charts.map((c) => c.id)).toEqual([
      "chart-rate",
      "chart-latency",
      "chart-lag",
      "chart-gateway",
      "chart-calls",
      "chart-sip",
      "chart-sip-response",
      "chart-cpu",
      "chart-memory",
    ]);
    for (const chart of charts)
      expect(
        chart.series.some((s) => s.points.some(([, y]) => y !== undefined)),
        chart.id,
      ).toBe(true);
  });

  it.skipIf(!haveChromium)(
    "opens offline in headless Chromium with every chart drawn, the fault marked, and no console error",
    async () => {
      const file = join(dir, "report.html");
      writeFileSync(file, renderHtmlReport(summary));
      // A fresh profile each time (Playwright takes it as the persistent context's folder, not as a flag).
      const browser = await chromium.launchPersistentContext(mkdtempSync(join(dir, "profile-")), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        const requests: string[] = [];
        page.on("console", (message) => {
          if (message.type() === "error" || message.type() === "warning")
            problems.push(`${message.type()}: ${message.text()}`);
        });
        page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
        page.on("request", (request) => requests.push(request.url()));
        await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
        const charts = await page.$$eval("figure.chart", (figures) =>
          figures.map((figure) => {
            const paths = [...figure.querySelectorAll("path.series")];
            const box = figure.querySelector("svg")!.getBoundingClientRect();
            return {
              id: figure.id,
              paths: paths.length,
              drawn: paths.filter((p) => (p as SVGPathElement).getTotalLength() > 10).length,
              width: box.width,
              height: box.height,
              faults: figure.querySelectorAll("line.fault").length,
              outages: figure.querySelectorAll("rect.outage").length,
            };
          }),
        );
        expect(charts).toHaveLength(9);
        for (const chart of charts) {
          expect(chart.drawn, `${chart.id} has drawn lines`).toBeGreaterThan(0);
          expect(chart.width, chart.id).toBeGreaterThan(300);
          expect(chart.height, chart.id).toBeGreaterThan(100);
          expect(chart.faults, `${chart.id} marks the fault`).toBe(1);
          expect(chart.outages, `${chart.id} shades the outage`).toBe(1);
        }
        const text = await page.textContent("body");
        expect(text).toContain("PASSED");
        expect(text).toContain("esl cut RST");
        expect(text).toMatch(/answer-seizure ratio\s*1/);
        // The SIP section: Kamailio's table, and SIPp's own figures with their failures by reason.
        const sip = await page.$$eval("#sip table tr", (rows) =>
          rows.map((row) => [...row.querySelectorAll("td")].map((cell) => cell.textContent ?? "")),
        );
        expect(sip).toContainEqual([
          "requests received: all / INVITE / BYE / CANCEL / ACK / OPTIONS",
          "8000 / 2000 / 2000 / 0 / 4000 / 0",
        ]);
        expect(sip).toContainEqual(["replies sent on its own (sl), by code", "20: 200 20"]);
        expect(sip).toContainEqual([
          "carrier (carrier-answer)",
          "2000",
          "1998",
          "2 (MaxUDPRetrans 2)",
          "7",
          "200 sent → ACK received",
          "2 / 5.003 / 5.003 / 40.031 ms",
        ]);
        const sipChart = await page.$eval("#chart-sip figcaption", (caption) => caption.textContent ?? "");
        expect(sipChart).toContain("originates sent (HTTP)");
        expect(sipChart).toContain("carrier calls (SIPp)");
        expect(problems).toEqual([]);
        expect(requests).toEqual([pathToFileURL(file).href]);
        await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
      } finally {
        await browser.close();
      }
    },
    30_000,
  );
});
