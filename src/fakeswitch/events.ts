import {
  type CompiledTemplate,
  eventFrame,
  type HeaderList,
  renderHeaders,
  renderTemplate,
  renderTemplateFrame,
  templateValue,
} from "./event-serializer.ts";
import type { Format, TokenTable } from "./template-tokens.ts";

/**
 * An event as the listeners see it. `render` and `header` read the channel's token table, which keeps
 * changing as the call goes on, so both are called synchronously while the event is dispatched.
 */
export interface SwitchEvent {
  readonly name: string;
  readonly subclass: string | undefined;
  /** Unique-ID, for `myevents`. */
  readonly uniqueId: string | undefined;
  header(name: string): string | undefined;
  render(format: Format): string;
  /** The whole ESL frame (Content-Length, Content-Type, body) as bytes, rendered once per format. */
  frame(format: Format): Buffer;
}

export class ChannelEvent implements SwitchEvent {
  readonly subclass = undefined;
  private readonly cache: Partial<Record<Format, string>> = {};
  private readonly frames: Partial<Record<Format, Buffer>> = {};

  constructor(
    private readonly template: CompiledTemplate,
    private readonly tokens: TokenTable,
    readonly uniqueId: string,
  ) {}

  get name(): string {
    return this.template.event;
  }

  frame(format: Format): Buffer {
    let out = this.frames[format];
    if (out === undefined) {
      out = renderTemplateFrame(this.template, this.tokens, format);
      this.frames[format] = out;
    }
    return out;
  }

  header(name: string): string | undefined {
    return templateValue(this.template, this.tokens, name);
  }

  render(format: Format): string {
    let out = this.cache[format];
    if (out === undefined) {
      out = renderTemplate(this.template, this.tokens, format);
      this.cache[format] = out;
    }
    return out;
  }
}

export class HeaderEvent implements SwitchEvent {
  private readonly cache: Partial<Record<Format, string>> = {};
  private readonly frames: Partial<Record<Format, Buffer>> = {};

  constructor(
    readonly name: string,
    private readonly headers: HeaderList,
    private readonly body?: string,
    readonly subclass: string | undefined = undefined,
  ) {}

  get uniqueId(): string | undefined {
    return this.header("Unique-ID");
  }

  frame(format: Format): Buffer {
    let out = this.frames[format];
    if (out === undefined) {
      out = Buffer.from(eventFrame(this.render(format), format), "utf8");
      this.frames[format] = out;
    }
    return out;
  }

  header(name: string): string | undefined {
    for (const [k, v] of this.headers) if (k === name) return v;
    const lower = name.toLowerCase();
    for (const [k, v] of this.headers) if (k.toLowerCase() === lower) return v;
    if (lower === "content-length" && this.body) return String(Buffer.byteLength(this.body));
    return undefined;
  }

  render(format: Format): string {
    let out = this.cache[format];
    if (out === undefined) {
      out = renderHeaders(this.headers, format, this.body);
      this.cache[format] = out;
    }
    return out;
  }
}
