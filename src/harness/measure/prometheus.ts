/**
 * The Prometheus text exposition format (version 0.0.4), read back: what the gateway's /metrics says, as
 * numbers the harness can difference between two scrapes and turn into quantiles.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A cumulative histogram bucket: `count` observations were <= `le`. */
export interface Bucket {
  le: number;
  count: number;
}

export interface HistogramState {
  buckets: Bucket[];
  sum: number;
  count: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;

/** Parses every sample line; comments (`# HELP`, `# TYPE`) and blank lines are skipped. Throws on a line that is neither. */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new SyntaxError(`metrics line ${index + 1} is not a sample: ${JSON.stringify(line)}`);
    samples.push({
      name: match[1]!,
      labels: match[2] ? parseLabels(match[2], index + 1) : {},
      value: parseValue(match[3]!),
    });
  }
  return samples;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text); // "NaN" reads as NaN, as meant
}

/** `a="x",b="y\"z"`: values escape `\\`, `\"` and `\n`; a trailing comma is allowed. */
function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let at = 0;
  while (at < text.length) {
    const name = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(text.slice(at));
    if (!name) throw new SyntaxError(`metrics line ${line}: bad label set {${text}}`);
    at += name[0].length;
    let value = "";
    for (;;) {
      const c = text[at++];
      if (c === undefined) throw new SyntaxError(`metrics line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const escaped = text[at++];
        value += escaped === "n" ? "\n" : (escaped ?? "");
      } else {
        value += c;
      }
    }
    labels[name[1]!] = value;
    const rest = /^\s*,?\s*/.exec(text.slice(at));
    at += rest ? rest[0].length : 0;
  }
  return labels;
}

/** One scrape, with lookups that sum over every series matching a label subset. */
export class MetricsSnapshot {
  private readonly byName = new Map<string, PromSample[]>();

  constructor(samples: readonly PromSample[]) {
    for (const sample of samples) {
      const list = this.byName.get(sample.name);
      if (list) list.push(sample);
      else this.byName.set(sample.name, [sample]);
    }
  }

  static parse(text: string): MetricsSnapshot {
    return new MetricsSnapshot(parsePrometheusText(text));
  }

  /** The sum of every series of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const matching = this.matching(name, labels);
    return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
  }

  /** A histogram summed over every series matching `labels` (all commands together, by default). */
  histogram(name: string, labels: Record<string, string> = {}): HistogramState | undefined {
    const counts = new Map<number, number>();
    for (const sample of this.matching(`${name}_bucket`, labels)) {
      const le = parseValue(sample.labels.le ?? "");
      counts.set(le, (counts.get(le) ?? 0) + sample.value);
    }
    if (counts.size === 0) return undefined;
    const buckets = [...counts].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    return {
      buckets,
      sum: this.value(`${name}_sum`, labels) ?? 0,
      count: this.value(`${name}_count`, labels) ?? buckets.at(-1)!.count,
    };
  }

  private matching(name: string, labels: Record<string, string>): PromSample[] {
    return (this.byName.get(name) ?? []).filter((sample) =>
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
  }
}

/**
 * The observations of `later` that `earlier` had not seen. A bucket that went down means the process
 * restarted (its counters began again): then `later` is taken whole.
 */
export function histogramDelta(later: HistogramState, earlier: HistogramState | undefined): HistogramState {
  if (!earlier) return later;
  const before = new Map(earlier.buckets.map((b) => [b.le, b.count]));
  const buckets = later.buckets.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) }));
  if (buckets.some((b) => b.count < 0) || later.count < earlier.count) return later;
  return { buckets, sum: later.sum - earlier.sum, count: later.count - earlier.count };
}

/**
 * PromQL's histogram_quantile: find the bucket the rank falls in and interpolate linearly inside it (the
 * lowest bucket starts at 0). A rank in the +Inf bucket answers the highest finite bound. Undefined with no
 * observation.
 */
export function histogramQuantile(q: number, histogram: HistogramState): number | undefined {
  const { buckets } = histogram;
  const total = buckets.at(-1)?.count ?? 0;
  if (!(total > 0) || buckets.at(-1)!.le !== Number.POSITIVE_INFINITY) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return lowerBound;
      if (bucket.count === lowerCount) return bucket.le;
      return lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / (bucket.count - lowerCount);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** An increase of a counter between two scrapes; after a restart (it went down), the later value. */
export function counterDelta(later: number | undefined, earlier: number | undefined): number {
  if (later === undefined) return 0;
  if (earlier === undefined || later < earlier) return later;
  return later - earlier;
}
