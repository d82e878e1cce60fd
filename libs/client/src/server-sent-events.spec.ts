import { serverSentEvents } from './server-sent-events';

function stream(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

describe('serverSentEvents', () => {
  it('joins events split across chunks, skips comments and handles CRLF and multi-line data', async () => {
    const events = [];
    for await (const e of serverSentEvents(
      stream(': hi\n\nevent: sta', 'tus\ndata: {"a":1}\n\r\nid: 7\ndata:x\ndata: y\r\n\r\n'),
    ))
      events.push(e);
    expect(events).toEqual([
      { event: 'status', data: '{"a":1}' },
      { event: 'message', id: '7', data: 'x\ny' },
    ]);
  });
});
