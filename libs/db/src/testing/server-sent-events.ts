/** One server-sent event as a client sees it. */
export interface ServerSentEvent {
  event: string;
  id?: string;
  data: string;
}

/**
 * The events of a `text/event-stream` response as they arrive (comments such as keepalives
 * skipped), for tests of the API's live routes; ends when the server ends the stream.
 */
export async function* serverSentEvents(response: Response): AsyncGenerator<ServerSentEvent> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const fields = buffer
        .slice(0, end)
        .split('\n')
        .filter((field) => !field.startsWith(':'));
      buffer = buffer.slice(end + 2);
      if (fields.length === 0) continue;
      const event: ServerSentEvent = { event: 'message', data: '' };
      for (const field of fields) {
        const colon = field.indexOf(': ');
        const [name, text] = colon === -1 ? [field, ''] : [field.slice(0, colon), field.slice(colon + 2)];
        if (name === 'event') event.event = text;
        else if (name === 'id') event.id = text;
        else if (name === 'data') event.data = event.data ? `${event.data}\n${text}` : text;
      }
      yield event;
    }
  }
}
