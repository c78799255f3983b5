/** What a progress line shows; any source (an HttpLoad's and a LagMonitor's `live()`) can fill it. */
export interface ProgressSample {
  elapsedMs: number;
  /** Scheduled requests/s now. */
  targetRate: number;
  /** Requests/s sent in the last completed second. */
  achievedRate: number;
  /** p95 command latency so far, ms. */
  p95Ms: number | undefined;
  errors: number;
  /** p95 event publish lag so far, ms. */
  lagP95Ms?: number | undefined;
}

/** The part of a stream the display writes to: process.stderr, or a test double. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressDisplay {
  /** Stops the timer; on a terminal, ends the rewritten line. */
  stop(): void;
}

const TTY_INTERVAL_MS = 1000;
const PLAIN_INTERVAL_MS = 5000;
const CLEAR_LINE = "\r\x1b[2K";

export function formatProgress(sample: ProgressSample): string {
  const parts = [
    `${(sample.elapsedMs / 1000).toFixed(0).padStart(4)}s`,
    `rate ${sample.achievedRate.toFixed(0)}/${sample.targetRate.toFixed(0)} /s`,
    `p95 ${ms(sample.p95Ms)}`,
    `errors ${sample.errors}`,
  ];
  if ("lagP95Ms" in sample) parts.push(`lag p95 ${ms(sample.lagP95Ms)}`);
  return parts.join("  ");
}

/**
 * A live progress display: on a terminal, one line rewritten every second; otherwise (CI, a log file) a
 * plain line every 5 s. `sample` returning undefined (nothing started yet) skips a tick. The timer does not
 * keep the process alive.
 */
export function startProgress(
  sample: () => ProgressSample | undefined,
  stream: ProgressStream = process.stderr,
): ProgressDisplay {
  const tty = stream.isTTY === true;
  let shown = false;
  const timer = setInterval(
    () => {
      const current = sample();
      if (!current) return;
      stream.write(tty ? `${CLEAR_LINE}${formatProgress(current)}` : `${formatProgress(current)}\n`);
      shown = true;
    },
    tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS,
  );
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (tty && shown) stream.write("\n");
      shown = false;
    },
  };
}

const ms = (value: number | undefined): string =>
  value === undefined ? "-" : value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`;
