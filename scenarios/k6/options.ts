/**
 * The k6 options that mirror our smoke, originate-ramp and steady scenarios (scenarios/*.ts): the same
 * arrival schedules as k6 executors, and our gates as k6 thresholds. Data only, so the harness's tests can
 * check the mirror against the scenarios themselves.
 *
 * Gates that map: command_latency.p95 → http_req_duration p(95) (k6 measures from the moment the request
 * is sent; ours from its intended send time, so ours also counts a request that waited for a connection);
 * error_rate → http_req_failed rate. Measured phases are tagged `phase:measured` so that warm-up requests
 * are not gated, as in our runner.
 */
import type { Options, Scenario, Stage } from "k6/options";

const measured = { phase: "measured" };
const warmup = { phase: "warm-up" };

/** Enough VUs that a slow response never makes k6 drop an arrival (k6's dropped_iterations = our dropped). */
const vus = (rate: number) => ({
  preAllocatedVUs: Math.max(10, Math.ceil(rate / 10)),
  maxVUs: Math.max(100, rate * 2),
});

const constant = (rate: number, seconds: number, startSeconds: number, tags = measured): Scenario => ({
  executor: "constant-arrival-rate",
  rate,
  timeUnit: "1s",
  duration: `${seconds}s`,
  startTime: `${startSeconds}s`,
  ...vus(rate),
  tags,
});

export const smokeOptions: Options = {
  scenarios: {
    warmup: constant(20, 2, 0, warmup),
    ramp_and_hold: {
      executor: "ramping-arrival-rate",
      startRate: 20,
      timeUnit: "1s",
      startTime: "2s",
      stages: [
        { target: 200, duration: "5s" },
        { target: 200, duration: "10s" },
      ],
      ...vus(200),
      tags: measured,
    },
    // Our smoke cuts ESL by RST 10 s into the measured load: through the lab's fault proxy, when its control
    // API is given (FAULT_CONTROL_URL, FAULT_CONTROL_TOKEN).
    esl_cut: { executor: "shared-iterations", vus: 1, iterations: 1, startTime: "12s", exec: "cutEsl" },
  },
  thresholds: {
    "http_req_duration{phase:measured}": ["p(95)<50"],
    "http_req_failed{phase:measured}": ["rate<0.01"],
  },
};

/** Our originate-ramp's steps: each rate reached at once (a 0 s stage) and held 5 s. */
export const RAMP_STEPS = [50, 100, 200, 300, 400, 500, 700, 1_000, 1_500, 2_000];
const STEP_SECONDS = 5;

export const originateRampOptions: Options = {
  scenarios: {
    warmup: constant(50, 3, 0, warmup),
    steps: {
      executor: "ramping-arrival-rate",
      startRate: RAMP_STEPS[0],
      timeUnit: "1s",
      startTime: "3s",
      stages: RAMP_STEPS.flatMap((rate): Stage[] => [
        { target: rate, duration: "0s" },
        { target: rate, duration: `${STEP_SECONDS}s` },
      ]),
      ...vus(2_000),
      tags: measured,
    },
  },
  thresholds: {
    // k6 judges the whole run, not each step: the run stops once p95 has been over the limit for 5 s, and the
    // rate it had reached then is the answer (read it off the http_reqs time series).
    "http_req_duration{phase:measured}": [{ threshold: "p(95)<50", abortOnFail: true, delayAbortEval: "5s" }],
    "http_req_failed{phase:measured}": [{ threshold: "rate==0", abortOnFail: true }],
  },
};

export const steadyOptions: Options = {
  scenarios: {
    warmup: constant(50, 3, 0, warmup),
    steady: constant(200, 60, 3),
  },
  thresholds: {
    "http_req_duration{phase:measured}": ["p(95)<50"],
    "http_req_failed{phase:measured}": ["rate==0"],
  },
};
