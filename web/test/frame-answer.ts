/**
 * A WADO-RS frame answer as Orthanc sends one (multipart/related, one part): the part's
 * head, the frame's bytes, the closing delimiter. For the boundary search's test and bench.
 */
export interface FrameAnswer {
  data: Uint8Array;
  /** Where the frame's bytes start (the head's length). */
  start: number;
}

export function frameAnswer(boundary: string, pixels: Uint8Array): FrameAnswer {
  const head = `${boundary}\r\nContent-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n`;
  const tail = `\r\n${boundary}--\r\n`;
  const data = new Uint8Array(head.length + pixels.length + tail.length);
  data.set(Array.from(head, (c) => c.charCodeAt(0)), 0);
  data.set(pixels, head.length);
  data.set(Array.from(tail, (c) => c.charCodeAt(0)), head.length + pixels.length);
  return { data, start: head.length };
}
