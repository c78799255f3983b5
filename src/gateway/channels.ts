import type { FsEventV1 } from "../contracts/fs-events-v1.ts";

interface ChannelRow {
  uuid: string;
  direction: string;
  name: string;
  state: string;
  call_state: string;
  answer_state: string;
  caller_id_number: string;
  destination: string;
  other_leg_uuid: string | null;
  /** ms since the epoch, FreeSWITCH's clock. */
  created_at: number;
  answered_at: number | null;
}

/**
 * Live channels as the gateway knows them from its event stream (CHANNEL_CREATE adds, CHANNEL_DESTROY
 * removes), re-seeded from `show channels as json` after each reconnect. Listing 10,000 channels is then a
 * memory read, with no ESL round trip, while FreeSWITCH's own `show channels` would block the one ESL
 * connection for the time it takes to render them.
 */
export class ChannelTable {
  private readonly rows = new Map<string, ChannelRow>();

  get size(): number {
    return this.rows.size;
  }

  has(uuid: string): boolean {
    return this.rows.has(uuid);
  }

  get(uuid: string): ChannelRow | undefined {
    return this.rows.get(uuid);
  }

  apply(event: FsEventV1): void {
    const uuid = event.call_uuid;
    if (!uuid || event.event_type === "BACKGROUND_JOB") return;
    const f = event.fields;
    switch (event.event_type) {
      case "CHANNEL_CREATE":
        this.rows.set(uuid, {
          uuid,
          direction: f["Call-Direction"] ?? "",
          name: f["Channel-Name"] ?? "",
          state: f["Channel-State"] ?? "",
          call_state: f["Channel-Call-State"] ?? "",
          answer_state: f["Answer-State"] ?? "",
          caller_id_number: f["Caller-Caller-ID-Number"] ?? "",
          destination: f["Caller-Destination-Number"] ?? "",
          other_leg_uuid: event.other_leg_uuid ?? null,
          created_at: Math.floor(event.fs_timestamp_us / 1000),
          answered_at: null,
        });
        return;
      case "CHANNEL_DESTROY":
        this.rows.delete(uuid);
        return;
      default: {
        const row = this.rows.get(uuid);
        if (!row) return;
        row.state = f["Channel-State"] ?? row.state;
        row.call_state = f["Channel-Call-State"] ?? row.call_state;
        row.answer_state = f["Answer-State"] ?? row.answer_state;
        // CHANNEL_CALLSTATE is not subscribed (3 more events per call): the call state it would report next
        // follows from these events (switch_channel.c sets ACTIVE right after answer, HANGUP with hangup).
        if (event.event_type === "CHANNEL_ANSWER") {
          row.answered_at = Math.floor(event.fs_timestamp_us / 1000);
          row.call_state = "ACTIVE";
        }
        if (event.event_type === "CHANNEL_HANGUP") row.call_state = "HANGUP";
        if (event.event_type === "CHANNEL_BRIDGE")
          row.other_leg_uuid = event.other_leg_uuid ?? row.other_leg_uuid;
        if (event.event_type === "CHANNEL_UNBRIDGE") row.other_leg_uuid = null;
      }
    }
  }

  /** Replace the table with FreeSWITCH's own view (`show channels as json`). */
  reseed(showChannelsJson: string): number {
    const parsed = JSON.parse(showChannelsJson) as { rows?: Array<Record<string, string>> };
    this.rows.clear();
    for (const row of parsed.rows ?? []) {
      if (!row.uuid) continue;
      this.rows.set(row.uuid, {
        uuid: row.uuid,
        direction: row.direction ?? "",
        name: row.name ?? "",
        state: row.state ?? "",
        call_state: row.callstate ?? "",
        answer_state: row.callstate === "ACTIVE" ? "answered" : "",
        caller_id_number: row.cid_num ?? "",
        destination: row.dest ?? "",
        other_leg_uuid: null,
        created_at: Number(row.created_epoch ?? 0) * 1000,
        answered_at: null,
      });
    }
    return this.rows.size;
  }

  clear(): void {
    this.rows.clear();
  }

  /** A page in creation order. */
  page(offset: number, limit: number): { total: number; items: ChannelRow[] } {
    const items: ChannelRow[] = [];
    let index = 0;
    for (const row of this.rows.values()) {
      if (index++ < offset) continue;
      if (items.length >= limit) break;
      items.push(row);
    }
    return { total: this.rows.size, items };
  }
}
