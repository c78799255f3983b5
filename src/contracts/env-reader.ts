/** A service's environment: variable names to values, as `process.env`. */
export type Env = Record<string, string | undefined>;

/**
 * Reads a service's settings from the environment (the gateway's, the calls pipeline's), collecting every
 * problem by variable name instead of stopping at the first. One rule for every value it reads: surrounding
 * whitespace is trimmed, and a value that is empty once trimmed is unset (the fallback applies). Secrets are
 * not read here: each service reads its own as they are, never trimmed, never echoed.
 */
export class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  /** The trimmed value, or undefined when unset or blank. */
  optional(name: string): string | undefined {
    return this.env[name]?.trim() || undefined;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.number(name, fallback, min, max);
    if (!Number.isInteger(value)) this.problems.push(`${name} must be a whole number`);
    return value;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${name} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    this.problems.push(`${name} must be true or false (got ${JSON.stringify(raw)})`);
    return fallback;
  }
}
