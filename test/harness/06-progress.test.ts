import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { formatProgress, type ProgressSample, startProgress } from "../../src/harness/report/progress.ts";

const sample: ProgressSample = {
  elapsedMs: 12_400,
  targetRate: 1000,
  achievedRate: 998,
  p95Ms: 1.234,
  errors: 3,
  lagP95Ms: 0.8,
};

function recorder(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (text: string) => writes.push(text) } };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("progress display", () => {
  it("formats elapsed time, achieved/target rate, p95, errors and lag", () => {
    expect(formatProgress(sample)).toBe("  12s  rate 998/1000 /s  p95 1.23 ms  errors 3  lag p95 0.80 ms");
    const { lagP95Ms: _, ...withoutLag } = sample;
    expect(formatProgress({ ...withoutLag, p95Ms: undefined })).toBe(
      "  12s  rate 998/1000 /s  p95 -  errors 3",
    );
  });

  it("on a terminal rewrites one line every second, and ends it on stop", () => {
    const { writes, stream } = recorder(true);
    const display = startProgress(() => sample, stream);
    vi.advanceTimersByTime(3500);
    expect(writes).toHaveLength(3);
    for (const line of writes) expect(line).toBe(`\r\x1b[2K${formatProgress(sample)}`);
    display.stop();
    vi.advanceTimersByTime(5000);
    expect(writes.slice(3)).toEqual(["\n"]);
  });

  it("elsewhere writes a plain line every 5 s", () => {
    const { writes, stream } = recorder(false);
    const display = startProgress(() => sample, stream);
    vi.advanceTimersByTime(12_000);
    display.stop();
    expect(writes).toEqual([`${formatProgress(sample)}\n`, `${formatProgress(sample)}\n`]);
  });

  it("skips ticks while there is nothing to show", () => {
    const { writes, stream } = recorder(true);
    const display = startProgress(() => undefined, stream);
    vi.advanceTimersByTime(3000);
    display.stop();
    expect(writes).toEqual([]);
  });
});
