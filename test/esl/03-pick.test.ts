import { describe, expect, it } from "vitest";
import { EslEvent, FrameDecoder } from "../../src/esl/index.ts";
import { captureNames, loadCapture } from "./captures.ts";

describe("EslEvent.pick: one pass for many headers", () => {
  const events = captureNames().flatMap((name) =>
    new FrameDecoder()
      .push(loadCapture(name).raw)
      .map((frame) => EslEvent.fromFrame(frame))
      .filter((event): event is EslEvent => event !== undefined),
  );

  it("agrees with get() for every header of every captured event (plain, json, xml)", () => {
    expect(events.length).toBeGreaterThan(500);
    for (const event of events) {
      const picked = event.pick();
      expect([...picked.keys()]).toEqual(new EslEvent(event.format, event.payload).headerNames());
      const reference = new EslEvent(event.format, event.payload);
      for (const [name, value] of picked) expect(value, `${name} of ${event.name}`).toBe(reference.get(name));
    }
  });

  it("returns only the wanted headers, and nothing for absent ones", () => {
    const wanted = new Set(["Event-Name", "Unique-ID", "Caller-Caller-ID-Name", "No-Such-Header"]);
    for (const event of events) {
      const picked = event.pick(wanted);
      for (const name of picked.keys()) expect(wanted.has(name)).toBe(true);
      expect(picked.has("No-Such-Header")).toBe(false);
      expect(picked.get("Event-Name")).toBe(new EslEvent(event.format, event.payload).name);
    }
  });
});
