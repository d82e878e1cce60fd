import { loadConfig, WORKER_SHUTDOWN_MARGIN_MS } from '@trainyard/config';
import {
  EMBEDDED_SERVER_KILL_ROOM_MS,
  embeddedServerKillAfterMs,
  embeddedServerStopWithinMs,
} from './embedded-process';

/** When the demo kills its embedded server (SIGKILL), from the settings the server stops by. */
describe('embeddedServerKillAfterMs', () => {
  it('comes after the server’s own backstop at the defaults: 30 s + 1 s + 8 s, then 10 s of room', () => {
    const config = loadConfig({});
    expect(embeddedServerStopWithinMs(config)).toBe(39_000);
    expect(embeddedServerKillAfterMs(config)).toBe(49_000);
  });

  it.each(['52000', '120000', '600000'])(
    'comes after the worker’s own deadline and the API’s with WORKER_SHUTDOWN_TIMEOUT_MS=%s (a fixed 60 s did not above 51 s)',
    (workerTimeout) => {
      const config = loadConfig({ WORKER_SHUTDOWN_TIMEOUT_MS: workerTimeout, API_SHUTDOWN_TIMEOUT_MS: '8000' });
      const serverExitsBy = Number(workerTimeout) + WORKER_SHUTDOWN_MARGIN_MS + 8000;
      expect(embeddedServerStopWithinMs(config)).toBe(serverExitsBy);
      expect(embeddedServerKillAfterMs(config)).toBe(serverExitsBy + EMBEDDED_SERVER_KILL_ROOM_MS);
    },
  );

  it('follows API_SHUTDOWN_TIMEOUT_MS too', () => {
    const config = loadConfig({ WORKER_SHUTDOWN_TIMEOUT_MS: '30000', API_SHUTDOWN_TIMEOUT_MS: '60000' });
    expect(embeddedServerKillAfterMs(config)).toBe(
      30_000 + WORKER_SHUTDOWN_MARGIN_MS + 60_000 + EMBEDDED_SERVER_KILL_ROOM_MS,
    );
  });
});
