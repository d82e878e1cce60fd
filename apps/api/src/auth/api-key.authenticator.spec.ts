import { Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ApiKeySessionsRepository, ApiKeysRepository } from '@trainyard/db';
import { ApiKeyAuthenticator, KEY_CACHE_TTL_MS, keyCredential } from './api-key.authenticator';

/**
 * The key cache's rules while the database cannot answer, with the database's answers scripted
 * (the real database's outage is apps/api/src/http/stalled-database.int-spec.ts): a key proven
 * within AUTH_OUTAGE_GRACE_MS passes, anything else gets the database's error.
 */
describe('ApiKeyAuthenticator while the database cannot answer', () => {
  const GRACE_MS = 60_000;
  const live = { id: 'k1', name: 'scraper', scopes: ['read'], project: null };
  const outage = new Error('database unavailable');
  let answer: () => Promise<typeof live | null>;
  let lookups: number;
  let authenticator: ApiKeyAuthenticator;
  let warned: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-12-08T00:00:00Z') });
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    lookups = 0;
    answer = async () => live;
    const keys = { verify: () => (lookups++, answer()) } as unknown as ApiKeysRepository;
    authenticator = new ApiKeyAuthenticator(
      keys,
      {} as ApiKeySessionsRepository,
      { auth: { outageGraceMs: GRACE_MS } } as TrainyardConfig,
    );
  });
  afterEach(() => {
    jest.useRealTimers();
    warned.mockRestore();
  });

  it('accepts a key proven within the grace once its proof has lapsed, and asks the database at every request', async () => {
    expect(await authenticator.authenticate(keyCredential('ty_a'))).toMatchObject({ keyId: 'k1' });
    answer = () => Promise.reject(outage);
    jest.advanceTimersByTime(KEY_CACHE_TTL_MS + 1);
    expect(await authenticator.authenticate(keyCredential('ty_a'))).toMatchObject({ keyId: 'k1' });
    jest.advanceTimersByTime(GRACE_MS - KEY_CACHE_TTL_MS - 2);
    expect(await authenticator.authenticate(keyCredential('ty_a'))).toMatchObject({ keyId: 'k1' });
    expect(lookups).toBe(3);
    expect(warned).toHaveBeenCalledTimes(1); // once an outage, not once a request
  });

  it('refuses it past the grace, counted from its last proof', async () => {
    await authenticator.authenticate(keyCredential('ty_a'));
    answer = () => Promise.reject(outage);
    jest.advanceTimersByTime(GRACE_MS + 1);
    await expect(authenticator.authenticate(keyCredential('ty_a'))).rejects.toBe(outage);
  });

  it('counts the grace from the newest proof', async () => {
    await authenticator.authenticate(keyCredential('ty_a'));
    jest.advanceTimersByTime(GRACE_MS - 1000);
    await authenticator.authenticate(keyCredential('ty_a')); // proven again
    answer = () => Promise.reject(outage);
    jest.advanceTimersByTime(GRACE_MS - 1000);
    expect(await authenticator.authenticate(keyCredential('ty_a'))).toMatchObject({ keyId: 'k1' });
  });

  it('refuses a token never proven here, and one the database refused since', async () => {
    answer = () => Promise.reject(outage);
    await expect(authenticator.authenticate(keyCredential('ty_new'))).rejects.toBe(outage);
    answer = async () => live;
    await authenticator.authenticate(keyCredential('ty_a'));
    answer = async () => null; // revoked on another replica
    jest.advanceTimersByTime(KEY_CACHE_TTL_MS + 1);
    expect(await authenticator.authenticate(keyCredential('ty_a'))).toBeNull();
    answer = () => Promise.reject(outage);
    await expect(authenticator.authenticate(keyCredential('ty_a'))).rejects.toBe(outage);
  });

  it('gives no key a grace after a revocation through this process (expireAll) until it is proven again', async () => {
    await authenticator.authenticate(keyCredential('ty_a'));
    authenticator.expireAll();
    answer = () => Promise.reject(outage);
    await expect(authenticator.authenticate(keyCredential('ty_a'))).rejects.toBe(outage);
    expect(authenticator.hasProven(keyCredential('ty_a'))).toBe(true);
    answer = async () => live;
    await authenticator.authenticate(keyCredential('ty_a'));
    answer = () => Promise.reject(outage);
    jest.advanceTimersByTime(KEY_CACHE_TTL_MS + 1);
    expect(await authenticator.authenticate(keyCredential('ty_a'))).toMatchObject({ keyId: 'k1' });
  });

  it('has no grace at AUTH_OUTAGE_GRACE_MS=0', async () => {
    const keys = { verify: () => answer() } as unknown as ApiKeysRepository;
    const strict = new ApiKeyAuthenticator(
      keys,
      {} as ApiKeySessionsRepository,
      { auth: { outageGraceMs: 0 } } as TrainyardConfig,
    );
    await strict.authenticate(keyCredential('ty_a'));
    answer = () => Promise.reject(outage);
    jest.advanceTimersByTime(KEY_CACHE_TTL_MS + 1);
    await expect(strict.authenticate(keyCredential('ty_a'))).rejects.toBe(outage);
  });
});
