/**
 * The case's changes as they happen: GET /api/v1/cases/{id}/events, Server-Sent Events read
 * with fetch (an EventSource cannot send the bearer token). Reconnects after a break; the
 * events missed meanwhile are made up for by a resync (the page reads the case again).
 */
import { errorOf } from '../api/client';
import { currentToken } from '../api/session';
import type { CaseChange } from '../api/types';

export interface ServerEvent {
  event: string;
  data: string;
}

/** Split a stream's text into whole events; `rest` is the unfinished tail (PS: WHATWG SSE). */
export function parseEvents(text: string): { events: ServerEvent[]; rest: string } {
  const normalised = text.replace(/\r\n?/g, '\n');
  const blocks = normalised.split('\n\n');
  const rest = blocks.pop() ?? '';
  const events: ServerEvent[] = [];
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

/** A change event's JSON, or null when it is not one. */
export function changeOf(data: string): CaseChange | null {
  try {
    const value = JSON.parse(data) as Partial<CaseChange>;
    if (typeof value?.case_id !== 'number' || typeof value.kind !== 'string' || typeof value.who !== 'string') return null;
    return {
      case_id: value.case_id, kind: value.kind, who: value.who, at: String(value.at ?? ''),
      lesion_id: typeof value.lesion_id === 'number' ? value.lesion_id : null,
      timepoint_id: typeof value.timepoint_id === 'string' ? value.timepoint_id : null,
      version: typeof value.version === 'number' ? value.version : null,
    };
  } catch {
    return null;
  }
}

export interface LiveHandlers {
  change(event: CaseChange): void;
  /** Events may have been missed (a gap, a reconnection): read the case again. */
  resync(): void;
  /** The stream is open (true) or broken (false, until it reconnects). */
  connected?(open: boolean): void;
  /**
   * The server ended the stream for good: the token was revoked or expired (`revoked`), the
   * case is hidden again by a blinded review (`blinded`), or opening it again was refused
   * (`refused`, with the server's reason). Nothing more is read.
   */
  ended?(why: StreamEnd, reason: string): void;
}

export type StreamEnd = 'revoked' | 'blinded' | 'refused';

/** The reason a final event carries (`data: {"reason": ...}`), or ''. */
export function reasonOf(data: string): string {
  try {
    const value = JSON.parse(data) as { reason?: unknown };
    return typeof value?.reason === 'string' ? value.reason : '';
  } catch {
    return '';
  }
}

const RECONNECT_MS = 2000;

export class CaseWatch {
  private stopped = false;
  private controller: AbortController | null = null;

  constructor(
    private readonly caseId: number,
    private readonly handlers: LiveHandlers,
  ) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  private async run(): Promise<void> {
    let first = true;
    while (!this.stopped) {
      try {
        await this.read(first);
      } catch {
        /* the stream broke: reconnect below */
      }
      this.handlers.connected?.(false);
      first = false;
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  private async read(first: boolean): Promise<void> {
    const token = currentToken();
    this.controller = new AbortController();
    const response = await fetch(`/api/v1/cases/${this.caseId}/events`, {
      headers: { Accept: 'text/event-stream', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      signal: this.controller.signal,
    });
    if (response.status === 401 || response.status === 403 || response.status === 404) {
      this.stopped = true; // not for this reader: nothing to watch
      // After a break: a token no longer valid is a revocation (the page signs out); a
      // refusal (blinded again, the case gone) says why.
      if (!first) this.handlers.ended?.(response.status === 401 ? 'revoked' : 'refused', (await errorOf(response, response.url)).detail);
      return;
    }
    if (!response.ok || !response.body) return;
    this.handlers.connected?.(true);
    if (!first) this.handlers.resync();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const { events, rest } = parseEvents(buffer + value);
      buffer = rest;
      for (const e of events) {
        if (e.event === 'revoked' || e.event === 'blinded') {
          this.stopped = true;
          this.controller.abort();
          this.handlers.ended?.(e.event, reasonOf(e.data));
          return;
        }
        if (e.event === 'resync') this.handlers.resync();
        else if (e.event === 'change') {
          const change = changeOf(e.data);
          if (change && change.case_id === this.caseId) this.handlers.change(change);
        }
      }
    }
  }
}

