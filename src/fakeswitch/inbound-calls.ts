import { randomUUID } from "node:crypto";
import { INBOUND_CALL } from "./call-scripts.ts";
import { Channel } from "./channel.ts";
import { localStamp, nowUs } from "./clock.ts";
import type { SwitchCore } from "./switch-core.ts";
import { T } from "./template-tokens.ts";

/** An INVITE from outside (the control API's POST /inbound): who calls whom, in which context. */
export interface InboundCall {
  /** The caller's user (From: sip:<from>@127.0.0.1), also its caller-ID number. */
  from: string;
  /** The From display name; sofia falls back to the user when there is none. */
  fromName?: string;
  /** The dialled number (the Request-URI user). */
  to: string;
  /** Dialplan context, default `default`. */
  context?: string;
  uuid?: string;
}

/** The vanilla `default` context's catch-all extensions run before the call's own (capture 11). */
const VANILLA_APPS = (ch: Channel, from: string, to: string, date: string) => [
  `insert/127.0.0.1-spymap/${from}/${ch.uuid}`,
  `insert/127.0.0.1-last_dial/${from}/${to}`,
  `insert/127.0.0.1-last_dial/global/${ch.uuid}`,
  `RFC2822_DATE=${date}`,
  "",
];

/**
 * sofia_handle_sip_i_invite → the dialplan: CS_NEW … CHANNEL_PARK with Answer-State ringing (the double's
 * extension only parks; FreeSWITCH has sent 100 Trying). Returns the channel, or the cause it was refused
 * with (switch_core_session_request_uuid returning NULL).
 */
export function createInboundCall(core: SwitchCore, call: InboundCall): Channel | string {
  const uuid = call.uuid ?? randomUUID();
  const refused = core.admitSession(uuid, "inbound");
  if (refused) return refused;
  const channel = new Channel({
    uuid,
    destination: {
      channelName: `sofia/internal/${call.from}@127.0.0.1`,
      dest: call.to,
      hostPort: "127.0.0.1",
      port: "5060",
    },
    userVars: [],
    switchTokens: core,
    createdUs: nowUs(),
    context: call.context ?? "default",
    direction: "inbound",
    callerIdNumber: call.from,
    callerIdName: call.fromName || call.from,
  });
  core.registerChannel(channel);
  // The INVITE's directory lookup (REQUEST_PARAMS) is copied into the variables, dates and all.
  const created = new Date(channel.createdUs / 1000);
  channel.tokens.set(T.CREATED_DATE_LOCAL, localStamp(channel.createdUs / 1000));
  channel.tokens.set(T.CREATED_DATE_GMT, created.toUTCString());
  channel.tokens.set(T.RFC2822_DATE, created.toUTCString().replace("GMT", "+0000"));
  const apps = VANILLA_APPS(channel, call.from, call.to, channel.tokens.get(T.RFC2822_DATE));
  for (const template of INBOUND_CALL.setup) {
    if (template.event === "CHANNEL_EXECUTE") {
      const data = apps.shift() ?? "";
      channel.tokens.set(T.APP_UUID, randomUUID());
      channel.tokens.set(T.APP_DATA, data);
      channel.applicationData = data;
    }
    core.fireChannel(channel, template);
  }
  channel.state = "CS_EXECUTE";
  channel.callState = "RINGING";
  channel.application = "park";
  channel.parked = true;
  return channel;
}
