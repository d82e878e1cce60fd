/** One server-sent event: its `event:` name (`message` when it has none), `id:` and `data:` lines joined. */
export interface ServerSentEvent {
  event: string;
  id?: string;
  data: string;
}

/**
 * Reads a `text/event-stream` body event by event as it arrives (comments such as keepalives
 * skipped), per the WHATWG parsing rules this API's streams need: LF or CRLF line ends, an
 * optional space after the colon, multi-line data. Ends when the server ends the stream.
 */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event: ServerSentEvent = { event: 'message', data: '' };
  let hasData = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r?\n/)) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer[end] === '\r' ? 2 : 1));
        if (line === '') {
          if (hasData) yield event;
          event = { event: 'message', data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const name = colon === -1 ? line : line.slice(0, colon);
        const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') event.event = text;
        else if (name === 'id') event.id = text;
        else if (name === 'data') {
          event.data = hasData ? `${event.data}\n${text}` : text;
          hasData = true;
        }
      }
    }
  } finally {
    // A consumer that stops early (break, an AbortSignal) closes the connection rather than leaking it.
    await reader.cancel().catch(() => undefined);
  }
}
