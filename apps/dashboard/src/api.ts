import type { RunKind, RunProgress } from '@trainyard/contracts';

/** Fired when the API answers 401: the page then asks for a key. */
export const UNAUTHORIZED_EVENT = 'trainyard:unauthorized';

/**
 * JSON over the API the page was served by; errors carry the API's message. The key travels in
 * the HttpOnly session cookie (POST /v1/session), which no script here can read.
 */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) {
    // The sign-in form takes the page over; the view that asked must not draw its error on top.
    document.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    return new Promise<T>(() => undefined);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${res.status} ${body.message ?? res.statusText}${body.errors ? `: ${body.errors.map((e: { field: string; message: string }) => `${e.field} ${e.message}`).join('; ')}` : ''}`);
  return body as T;
}

export interface Summary {
  name: string;
  goal: string;
  count: number;
  last: number;
  min: number;
  max: number;
  best: number;
  bestStep: number;
}
/** A run's progress, as the worker reports it (the contract is shared with the API and workers). */
export type Progress = RunProgress;
export interface RunRow {
  id: string;
  kind: RunKind;
  status: string;
  name: string;
  baseRunId: string | null;
  baseRunName?: string | null;
  backend: string | null;
  progress: Progress | null;
  failureReason: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  summaries: Summary[];
}
export interface Point {
  name: string;
  step: number;
  value: number;
}
export interface Series {
  name: string;
  total: number;
  points: Point[];
}
export interface Attempt {
  id: string;
  number: number;
  workerId: string | null;
  backend: string | null;
  startedAt: string;
  endedAt: string | null;
  outcome: string;
  error: string | null;
}
export interface Checkpoint {
  sequence: number;
  epoch: number;
  step: number;
  bytes: number;
  models: string[];
  createdAt: string;
}
export interface RunDetail extends RunRow {
  spec: Record<string, unknown>;
  attempts: Attempt[];
  checkpoints: Checkpoint[];
  dataReport?: { files: number; skippedCount: number; skipped: { file: string; reason: string }[] } | null;
  result: { split?: string; topK?: { k: number; accuracy: number }; classNames?: string[]; confusionMatrix?: number[][]; accuracy?: number; macroF1?: number; mse?: number; samples?: number; perClass?: { className: string; precision: number; recall: number; f1: number; support: number }[] } | null;
}
