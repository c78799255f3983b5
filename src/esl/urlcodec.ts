/**
 * URL-decoding of plain/xml event header values. FreeSWITCH percent-encodes values with
 * switch_url_encode(); a value produced by a buggy module or a corrupted stream may hold a malformed
 * escape, which must not throw out of the socket handler (modesl's failure): malformed escapes stay
 * literal and invalid UTF-8 becomes U+FFFD.
 */
export function urlDecode(value: string): string {
  if (value.indexOf("%") === -1) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return lenientUrlDecode(value);
  }
}

function lenientUrlDecode(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (
      code === 0x25 &&
      i + 2 < value.length &&
      isHex(value.charCodeAt(i + 1)) &&
      isHex(value.charCodeAt(i + 2))
    ) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const byte of Buffer.from(value[i] ?? "", "utf8")) bytes.push(byte);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/**
 * switch_url_encode() as FreeSWITCH 1.10 applies it to event header values (switch_utils.c): control
 * bytes, non-ASCII bytes and the characters of `urlunsafe` are percent-encoded with upper-case hex;
 * everything else stays. The fixtures' conformance test checks this against every captured value.
 */
export function urlEncode(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    if (!SAFE[value.charCodeAt(i)]) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = "";
  for (const byte of Buffer.from(value, "utf8"))
    out += SAFE[byte] ? String.fromCharCode(byte) : PERCENT[byte];
  return out;
}

const URL_UNSAFE = '\r\n "#%&+:;<=>?@[\\]^`{|}';
const SAFE: boolean[] = Array.from(
  { length: 256 },
  (_, byte) => byte >= 0x20 && byte < 0x7f && !URL_UNSAFE.includes(String.fromCharCode(byte)),
);
const PERCENT: string[] = Array.from(
  { length: 256 },
  (_, byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`,
);
