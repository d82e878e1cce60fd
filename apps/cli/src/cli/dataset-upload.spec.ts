import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, json, scriptedApi, type Route } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const DATASET = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';

/** The body of a request, read whole. */
async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('trainyard datasets upload', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  const folder = mkdtempSync(join(tmpdir(), 'trainyard-upload-spec-'));
  for (const file of ['cat/1.png', 'dog/1.png']) {
    mkdirSync(join(folder, file, '..'), { recursive: true });
    writeFileSync(join(folder, file), file);
  }
  afterEach(() => api?.close());
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  const uploaded = {
    id: DATASET,
    name: 'pets',
    project: 'default',
    location: { kind: 's3', prefix: `datasets/uploads/${DATASET}/` },
    uri: `s3://bucket/datasets/uploads/${DATASET}/`,
    classNames: ['cat', 'dog'],
    counts: [1, 1],
    images: 2,
    createdAt: '2026-12-06T00:00:00.000Z',
    skippedCount: 0,
    skipped: [],
  };
  const full = (seconds: number) => ({
    type: 'about:blank',
    title: 'Too Many Requests',
    status: 429,
    detail: 'Too many dataset uploads at once: this server has 4 open (DATASET_UPLOAD_MAX_PER_PROCESS=4)',
    message: 'Too many dataset uploads at once: this server has 4 open (DATASET_UPLOAD_MAX_PER_PROCESS=4)',
    retryAfterSeconds: seconds,
  });

  it('sends the whole folder again after the Retry-After of a 429, saying so, until a place is free', async () => {
    const bodies: number[] = [];
    let tries = 0;
    const route: Route = (req, res, url) => {
      void bodyOf(req).then((body) => {
        bodies.push(body.length);
        tries++;
        (tries < 3 ? json(full(1), 429) : json(uploaded, 201))(req, res, url);
      });
    };
    api = await scriptedApi({ 'POST /v1/datasets/uploads': route });
    const started = Date.now();
    const result = await cli(['datasets', 'upload', 'pets', folder], { TRAINYARD_URL: api.url });
    expect(result).toMatchObject({ code: EXIT.OK });
    expect(result.stdout).toContain(`uploaded pets (${DATASET}): 2 images in 2 classes`);
    expect(result.stderr.match(/sending the folder again in 1 s/g)).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    // Each try carried the whole tar.
    expect(new Set(bodies).size).toBe(1);
    expect(bodies).toHaveLength(3);
  });

  it('gives up with the 429 once waiting would pass its patience, and does not retry other refusals', async () => {
    api = await scriptedApi({ 'POST /v1/datasets/uploads': json(full(3600), 429) });
    const refused = await cli(['datasets', 'upload', 'pets', folder], { TRAINYARD_URL: api.url });
    expect(refused.code).toBe(EXIT.API);
    expect(refused.stderr).toContain('Too many dataset uploads at once');
    await api.close();
    const conflict = {
      type: 'about:blank',
      title: 'Conflict',
      status: 409,
      detail: 'name taken',
      message: 'name taken',
    };
    api = await scriptedApi({ 'POST /v1/datasets/uploads': json(conflict, 409) });
    expect((await cli(['datasets', 'upload', 'pets', folder], { TRAINYARD_URL: api.url })).code).toBe(EXIT.API);
    expect(api.seen).toHaveLength(1);
  });

  it('exits 130 when interrupted, the progress line ended before the message', async () => {
    // The API reads the upload and never answers: the command waits until Ctrl-C.
    api = await scriptedApi({ 'POST /v1/datasets/uploads': (req) => void bodyOf(req) });
    const interrupt = new AbortController();
    const result = await cli(
      ['datasets', 'upload', 'pets', folder],
      { TRAINYARD_URL: api.url },
      {
        stdoutIsTty: true,
        signal: interrupt.signal,
        onOut: (text) => void (text.startsWith('\r') && interrupt.abort()),
      },
    );
    expect(result).toMatchObject({ code: EXIT.INTERRUPTED, stderr: 'trainyard: interrupted\n' });
    expect(result.stdout).toMatch(/^\r.*uploading.*\n$/s);
  });
});
