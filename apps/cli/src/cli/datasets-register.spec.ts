import { resolve } from 'node:path';
import { cli, json, scriptedApi, type Route } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

describe('trainyard datasets register --path', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  let sent: { location?: { kind: string; path?: string } } | undefined;
  afterEach(() => api?.close());

  /** Answers as the API does: 400 for a path that is not absolute, else the folder registered at it. */
  const register: Route = (req, res, url) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      sent = JSON.parse(body);
      const path = sent!.location!.path!;
      if (!path.startsWith('/')) {
        res.writeHead(400, { 'content-type': 'application/problem+json' });
        return res.end(JSON.stringify({ title: 'Bad Request', status: 400, detail: 'path must be absolute' }));
      }
      json(
        {
          id: '00000000-0000-4000-8000-000000000001',
          name: 'flowers',
          project: 'default',
          location: { kind: 'local', path },
          uri: `file://${path}`,
          classNames: ['a', 'b'],
          images: 10,
        },
        201,
      )(req, res, url);
    });
  };

  it('a relative --path is resolved against the current directory, and the output says which folder was registered', async () => {
    api = await scriptedApi({ 'POST /v1/datasets': register });
    const result = await cli(['datasets', 'register', 'flowers', '--path', 'relative/x'], { TRAINYARD_URL: api.url });
    const absolute = resolve(process.cwd(), 'relative/x');
    expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
    expect(sent?.location).toEqual({ kind: 'local', path: absolute });
    expect(result.stdout).toContain(`--path relative/x is ${absolute}`);
  });

  it('an absolute --path is sent as given, nothing more said', async () => {
    api = await scriptedApi({ 'POST /v1/datasets': register });
    const result = await cli(['datasets', 'register', 'flowers', '--path', '/data/flowers'], {
      TRAINYARD_URL: api.url,
    });
    expect(result.code).toBe(EXIT.OK);
    expect(sent?.location).toEqual({ kind: 'local', path: '/data/flowers' });
    expect(result.stdout).toBe(
      'registered flowers (00000000-0000-4000-8000-000000000001): 10 images in 2 classes at file:///data/flowers\n',
    );
  });
});
