/** What every k6 mirror script does: originate one call through the gateway, as our harness does. */
import { check } from "k6";
import http from "k6/http";

/** The gateway's base URL and a token with fs:originate (`npm run lab -- status --json` prints both). */
const GATEWAY_URL = __ENV.GATEWAY_URL ?? "http://127.0.0.1:8080";
const TOKEN = __ENV.GATEWAY_TOKEN;
const DESTINATION = __ENV.DESTINATION ?? "sofia/internal/1000@127.0.0.1:5090";

if (!TOKEN) throw new Error("set GATEWAY_TOKEN to a JWT the gateway accepts (npm run lab -- status --json)");

const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

export function originate(): void {
  const response = http.post(
    `${GATEWAY_URL}/api/v1/fs/originate`,
    JSON.stringify({ destination: DESTINATION, application: { name: "park" }, call_uuid: uuidV4() }),
    { headers, tags: { name: "originate" } },
  );
  check(response, { "originate accepted (202)": (r) => r.status === 202 });
}

/** Cuts the lab's ESL link by RST through its fault proxy's control API, when it is given. */
export function cutEsl(): void {
  const url = __ENV.FAULT_CONTROL_URL;
  const token = __ENV.FAULT_CONTROL_TOKEN;
  if (!url || !token) {
    // A failed check shows in k6's end-of-test summary, where a skipped fault would otherwise go unnoticed.
    check(null, { "esl cut (needs FAULT_CONTROL_URL and FAULT_CONTROL_TOKEN)": () => false });
    return;
  }
  const response = http.post(`${url}/links/esl/cut`, JSON.stringify({ mode: "rst" }), {
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    tags: { name: "fault" },
  });
  check(response, { "esl cut": (r) => r.status === 200 });
}

/** A random (v4) UUID: our harness follows every call by the uuid it gives the originate. */
function uuidV4(): string {
  const hex = "0123456789abcdef";
  let out = "";
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) out += "-";
    else if (i === 14) out += "4";
    else if (i === 19) out += hex[8 + Math.floor(Math.random() * 4)];
    else out += hex[Math.floor(Math.random() * 16)];
  }
  return out;
}
