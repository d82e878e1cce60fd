// tar-stream 2.x ships no types; only what the packed-dataset shards use.
declare module 'tar-stream' {
  import type { Readable, Writable } from 'node:stream';
  interface Header {
    name: string;
    size?: number;
    mode?: number;
    mtime?: Date;
    type?: string;
  }
  interface Pack extends Readable {
    entry(header: Header, buffer: Buffer, callback?: (error?: Error | null) => void): void;
    finalize(): void;
  }
  interface Extract extends Writable {
    on(event: 'entry', listener: (header: Header & { size: number }, stream: Readable, next: () => void) => void): this;
    on(event: 'finish', listener: () => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }
  export function pack(): Pack;
  export function extract(): Extract;
}
