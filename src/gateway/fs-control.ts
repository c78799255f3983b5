import { randomUUID } from "node:crypto";
import { ApiError } from "../contracts/api-error.ts";
import { type CallerPolicy, PolicyViolation } from "../contracts/caller-policy.ts";
import type { OriginateInput } from "../contracts/originate-input.ts";
import {
  CONTEXT,
  DIALPLAN,
  EslArgumentError,
  EslBackpressureError,
  type EslClient,
  EslConnectionError,
  EslTimeoutError,
  EXTENSION,
  HANGUP_CAUSE,
  originateArgs,
  requireToken,
  UUID,
} from "../esl/index.ts";
import type { Admission } from "./admission.ts";
import type { ChannelTable } from "./channels.ts";
import type { GatewayMetrics } from "./metrics.ts";

interface OriginateOutput {
  call_uuid: string;
  job_uuid: string;
  status: "accepted" | "answered" | "failed";
  /** With `wait`: FreeSWITCH's hangup cause when the originate failed (USER_BUSY, NO_ANSWER...). */
  hangup_cause?: string;
  /** With `wait`: the BACKGROUND_JOB body. */
  result?: string;
}

export type Leg = "aleg" | "bleg" | "both";

/** Digits and the few symbols numbering plans use; a number is a token, never quoted. */
const CALLER_ID_NUMBER = /^[A-Za-z0-9+*#._-]{1,64}$/;

/**
 * The gateway's FreeSWITCH commands. Every caller string goes through the caller policy (what FreeSWITCH
 * may be asked to run, set, expand or play) and the ESL encoder's validation (what would change the
 * command's shape), each refusal a 400, before anything is written. Originate uses bgapi: `api originate` would hold
 * the one ESL connection until the call is answered, and every other command would queue behind it.
 */
export class FsControl {
  /** Call UUIDs of originates in progress, so a duplicate is refused (409) before FreeSWITCH sees it. */
  private readonly originating = new Set<string>();

  constructor(
    private readonly esl: EslClient,
    private readonly channels: ChannelTable,
    private readonly admission: Admission,
    private readonly metrics: GatewayMetrics,
    private readonly policy: CallerPolicy,
  ) {}

  async originate(input: OriginateInput): Promise<OriginateOutput> {
    const callUuid = input.call_uuid ?? randomUUID();
    const args = guardArguments(() => {
      requireToken("call_uuid", callUuid, UUID);
      this.checkOriginate(input);
      const variables: Record<string, string | number | boolean> = { origination_uuid: callUuid };
      if (input.caller_id?.name !== undefined) variables.origination_caller_id_name = input.caller_id.name;
      if (input.caller_id?.number !== undefined) {
        variables.origination_caller_id_number = requireToken(
          "caller_id.number",
          input.caller_id.number,
          CALLER_ID_NUMBER,
        );
      }
      if (input.timeout_sec !== undefined) variables.originate_timeout = input.timeout_sec;
      Object.assign(variables, input.variables);
      variables.origination_uuid = callUuid; // a variable must not override the UUID the caller is given
      const destinations = Array.isArray(input.destination) ? input.destination : [input.destination];
      return originateArgs({
        legs: destinations.map((dialString) => ({ dialString })),
        mode: input.mode,
        variables,
        target: input.extension
          ? {
              extension: input.extension.number,
              dialplan: input.extension.dialplan,
              context: input.extension.context,
            }
          : input.application
            ? { application: input.application.name, args: input.application.args }
            : undefined,
      });
    });
    if (this.channels.has(callUuid) || this.originating.has(callUuid)) {
      throw new ApiError(409, "duplicate_call_uuid", `call ${callUuid} already exists`);
    }
    this.admission.admit("originate");
    this.originating.add(callUuid);
    let job: Awaited<ReturnType<EslClient["bgapi"]>>;
    const started = performance.now();
    try {
      job = await this.esl.bgapi(`originate ${args}`);
    } catch (error) {
      this.originating.delete(callUuid);
      this.admission.done(undefined);
      throw this.translate("originate", error);
    }
    const latency = performance.now() - started;
    this.record("originate", latency);
    void job.completion.finally(() => this.originating.delete(callUuid)).catch(() => {});
    if (!input.wait) return { call_uuid: callUuid, job_uuid: job.jobUuid, status: "accepted" };
    try {
      const result = await job.completion;
      const body = result.body.trim();
      if (result.ok) return { call_uuid: callUuid, job_uuid: job.jobUuid, status: "answered", result: body };
      return {
        call_uuid: callUuid,
        job_uuid: job.jobUuid,
        status: "failed",
        hangup_cause: body.replace(/^-ERR\s*/, ""),
        result: body,
      };
    } catch (error) {
      throw this.translate("originate", error);
    }
  }

  hangup(callUuid: string, cause?: string): Promise<void> {
    const command = guardArguments(() => {
      requireToken("call_uuid", callUuid, UUID);
      return cause === undefined
        ? `uuid_kill ${callUuid}`
        : `uuid_kill ${callUuid} ${requireToken("cause", cause, HANGUP_CAUSE)}`;
    });
    return this.control("hangup", callUuid, command);
  }

  play(callUuid: string, media: { file?: string; tone?: string }, leg: Leg = "aleg"): Promise<void> {
    const command = guardArguments(() => {
      requireToken("call_uuid", callUuid, UUID);
      if ((media.file === undefined) === (media.tone === undefined)) {
        throw new EslArgumentError("give exactly one of file or tone", "file");
      }
      const path =
        media.file !== undefined
          ? this.policy.media("file", media.file)
          : this.policy.media("tone", `tone_stream://${media.tone ?? ""}`);
      return `uuid_broadcast ${callUuid} ${path} ${leg}`;
    });
    return this.control("play", callUuid, command);
  }

  transfer(
    callUuid: string,
    target: { extension: string; dialplan?: string; context?: string },
    leg: Leg = "aleg",
  ): Promise<void> {
    const command = guardArguments(() => {
      requireToken("call_uuid", callUuid, UUID);
      const parts = ["uuid_transfer", callUuid];
      if (leg !== "aleg") parts.push(`-${leg}`);
      parts.push(requireToken("extension", target.extension, EXTENSION));
      if (target.dialplan !== undefined || target.context !== undefined) {
        const dialplan = this.policy.dialplan("dialplan", target.dialplan ?? "XML");
        parts.push(requireToken("dialplan", dialplan, DIALPLAN));
      }
      if (target.context !== undefined) parts.push(requireToken("context", target.context, CONTEXT));
      return parts.join(" ");
    });
    return this.control("transfer", callUuid, command);
  }

  /** The caller policy over every string of an originate; the ESL encoder checks their shape after. */
  private checkOriginate(input: OriginateInput): void {
    const destinations = Array.isArray(input.destination) ? input.destination : [input.destination];
    for (const [index, destination] of destinations.entries())
      this.policy.value(`destination[${index}]`, destination);
    if (input.caller_id?.name !== undefined) this.policy.value("caller_id.name", input.caller_id.name);
    for (const [name, value] of Object.entries(input.variables ?? {})) this.policy.variable(name, value);
    if (input.application) this.policy.application(input.application.name, input.application.args);
    if (input.extension) {
      this.policy.value("extension.number", input.extension.number);
      if (input.extension.dialplan !== undefined || input.extension.context !== undefined)
        this.policy.dialplan("extension.dialplan", input.extension.dialplan ?? "XML");
    }
  }

  private async control(name: string, callUuid: string, command: string): Promise<void> {
    this.admission.admit("control");
    const started = performance.now();
    let body: string;
    try {
      ({ body } = await this.esl.api(command));
    } catch (error) {
      this.admission.done(undefined);
      throw this.translate(name, error);
    }
    this.record(name, performance.now() - started);
    // A missing uuid: uuid_kill and uuid_transfer answer "-ERR No such channel!", uuid_broadcast
    // "-ERR invalid uuid" (FreeSWITCH 1.10.12, docs/fidelity.md).
    const notFound = /^-ERR (no such channel!|invalid uuid)$/i.test(body.trim());
    if (body.startsWith("+OK") && !notFound) return;
    if (notFound) throw new ApiError(404, "not_found", `no channel ${callUuid}`);
    this.metrics.errors.inc({ type: "freeswitch_error" });
    throw new ApiError(502, "freeswitch_error", `FreeSWITCH answered: ${body.trim()}`);
  }

  private record(command: string, latencyMs: number): void {
    this.admission.done(latencyMs);
    this.metrics.commands.inc({ command });
    this.metrics.commandLatency.observe({ command }, latencyMs);
  }

  private translate(command: string, error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    if (error instanceof EslConnectionError) {
      this.metrics.errors.inc({ type: "connection" });
      return new ApiError(503, "freeswitch_unavailable", `${command}: ${error.message}`, 1);
    }
    if (error instanceof EslTimeoutError) {
      this.metrics.errors.inc({ type: "timeout" });
      return new ApiError(504, "command_timeout", `${command}: ${error.message}`);
    }
    if (error instanceof EslBackpressureError) {
      this.metrics.errors.inc({ type: "backpressure" });
      return new ApiError(429, "throttled", `${command}: ${error.message}`, 1);
    }
    this.metrics.errors.inc({ type: "internal" });
    return new ApiError(500, "internal", `${command}: ${(error as Error).message}`);
  }
}

/** Run argument building; an injection attempt or malformed value becomes a 400 naming the field. */
function guardArguments<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof EslArgumentError) throw new ApiError(400, "bad_request", error.message);
    if (error instanceof PolicyViolation) throw new ApiError(400, error.code, error.message);
    throw error;
  }
}
