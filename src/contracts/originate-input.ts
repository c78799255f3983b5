/** The body of `POST /api/v1/fs/originate`: what the gateway accepts and the calls orchestrator sends. */
export interface OriginateInput {
  destination: string | string[];
  mode?: "simultaneous" | "sequential";
  application?: { name: string; args?: string };
  extension?: { number: string; dialplan?: string; context?: string };
  variables?: Record<string, string | number | boolean>;
  caller_id?: { name?: string; number?: string };
  timeout_sec?: number;
  call_uuid?: string;
  wait?: boolean;
}
