import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export type TrainingOutputStream = 'stdout' | 'stderr';

/** One line the training printed, without its line break. */
export interface TrainingOutputLine {
  stream: TrainingOutputStream;
  text: string;
}

/** A line with no break this long is handed over as it is, so one endless line cannot grow memory. */
export const MAX_PENDING_LINE = 64 * 1024;

/**
 * Splits what a training process prints on stdout and stderr into lines for `onLine`, in the
 * order each stream delivers them. Resolves once both streams have ended, the last unterminated line handed over too.
 */
export function captureOutputLines(
  streams: Record<TrainingOutputStream, Readable>,
  onLine: (line: TrainingOutputLine) => void,
): Promise<void> {
  const deliver = (line: TrainingOutputLine) => {
    try {
      onLine(line);
    } catch {
      // A listener's trouble (a full log buffer, say) must never stop the training's output.
    }
  };
  return Promise.all(
    (['stdout', 'stderr'] as const).map((stream) => splitLines(streams[stream], (text) => deliver({ stream, text }))),
  ).then(() => undefined);
}

function splitLines(readable: Readable, onText: (text: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const take = (text: string) => {
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      onText(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
    }
    while (pending.length >= MAX_PENDING_LINE) {
      onText(pending.slice(0, MAX_PENDING_LINE));
      pending = pending.slice(MAX_PENDING_LINE);
    }
  };
  return new Promise((resolve) => {
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      take(decoder.end());
      if (pending) onText(pending.replace(/\r$/, ''));
      pending = '';
      resolve();
    };
    readable.on('data', (chunk: Buffer | string) => take(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
    readable.once('end', end);
    readable.once('close', end);
    readable.once('error', end);
  });
}
