import { urlEncode } from "../esl/urlcodec.ts";

/**
 * The three Event-Date headers, as FreeSWITCH writes them: local time `YYYY-MM-DD HH:MM:SS`, the RFC 1123
 * GMT date, and microseconds since the epoch. The date strings change once a second, so they (and their
 * URL-encoded forms) are built once a second and shared by every event of that second.
 */
interface EventDate {
  local: string;
  localUrl: string;
  gmt: string;
  gmtUrl: string;
  /** The date strings as bytes: URL-encoded (plain/xml) and raw (json). */
  bytes: { localUrl: Buffer; gmtUrl: Buffer; local: Buffer; gmt: Buffer };
}

let cachedSecond = -1;
const EMPTY = Buffer.alloc(0);
let cached: EventDate = {
  local: "",
  localUrl: "",
  gmt: "",
  gmtUrl: "",
  bytes: { localUrl: EMPTY, gmtUrl: EMPTY, local: EMPTY, gmt: EMPTY },
};
let lastUs = 0;

/** Microseconds since the epoch; strictly increasing within the process. */
export function nowUs(): number {
  let us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  if (us <= lastUs) us = lastUs + 1;
  lastUs = us;
  return us;
}

/** The date headers of the second `us` falls in (shared, do not mutate). */
export function eventDate(us = nowUs()): EventDate {
  const second = Math.floor(us / 1_000_000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    const ms = second * 1000;
    const local = localStamp(ms);
    const gmt = new Date(ms).toUTCString();
    const localUrl = urlEncode(local);
    const gmtUrl = urlEncode(gmt);
    cached = {
      local,
      localUrl,
      gmt,
      gmtUrl,
      bytes: {
        localUrl: Buffer.from(localUrl),
        gmtUrl: Buffer.from(gmtUrl),
        local: Buffer.from(local),
        gmt: Buffer.from(gmt),
      },
    };
  }
  return cached;
}

const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `YYYY-MM-DD HH:MM:SS` in local time (switch_time_exp_lt + strftime "%Y-%m-%d %T"). */
export function localStamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `0 years, 0 days, 0 hours, 1 minute, 34 seconds, 690 milliseconds, 721 microseconds` (switch_core uptime). */
export function uptimeText(us: number): string {
  const unit = (n: number, name: string) => `${n} ${name}${n === 1 ? "" : "s"}`;
  let rest = Math.max(0, Math.floor(us));
  const micro = rest % 1000;
  rest = Math.floor(rest / 1000);
  const milli = rest % 1000;
  rest = Math.floor(rest / 1000);
  const sec = rest % 60;
  rest = Math.floor(rest / 60);
  const min = rest % 60;
  rest = Math.floor(rest / 60);
  const hours = rest % 24;
  rest = Math.floor(rest / 24);
  const days = rest % 365;
  const years = Math.floor(rest / 365);
  return [
    unit(years, "year"),
    unit(days, "day"),
    unit(hours, "hour"),
    unit(min, "minute"),
    unit(sec, "second"),
    unit(milli, "millisecond"),
    unit(micro, "microsecond"),
  ].join(", ");
}
