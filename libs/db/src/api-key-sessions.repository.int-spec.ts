import { randomUUID } from 'node:crypto';
import { ApiKeySessionsRepository } from './api-key-sessions.repository';
import { sessionDigest } from './api-key-token';
import { ApiKeysRepository } from './api-keys.repository';
import type { Database } from './open-database';
import { useMigratedDatabase } from './testing';

const HOUR_MS = 60 * 60 * 1000;

/** ApiKeySessionsRepository: what a session proves, and the bounds on how many rows sign-ins leave. */
describe('ApiKeySessionsRepository (PostgreSQL)', () => {
  let db: Database;
  let keys: ApiKeysRepository;
  let sessions: ApiKeySessionsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    keys = new ApiKeysRepository(db.prisma);
    sessions = new ApiKeySessionsRepository(db.prisma);
  });

  const newKey = async () =>
    (await keys.create({ name: `k-${randomUUID().slice(0, 8)}`, scopes: ['read'], project: 'sessions' })).key;

  it("proves its key while unexpired, not ended and its key live; never the key's own token", async () => {
    const created = await keys.create({ name: 'viewer', scopes: ['read'], project: 'sessions' });
    const token = await sessions.open(created.key.id, HOUR_MS);
    expect(await sessions.verify(token)).toMatchObject({ id: created.key.id, name: 'viewer' });
    expect(await sessions.verify(created.token)).toBeNull();
    expect(await keys.verify(token)).toBeNull();

    const expired = await sessions.open(created.key.id, HOUR_MS);
    await db.prisma.apiKeySession.update({
      where: { digest: sessionDigest(expired) },
      data: { expiresAt: new Date(Date.now() - 1) },
    });
    expect(await sessions.verify(expired)).toBeNull();
    expect(await sessions.verify(token)).not.toBeNull();

    expect(await sessions.end(token)).toBe(true);
    expect(await sessions.verify(token)).toBeNull();
    expect(await sessions.end(token)).toBe(false);

    const live = await sessions.open(created.key.id, HOUR_MS);
    await keys.revoke(created.key.id);
    expect(await sessions.verify(live)).toBeNull();
    // Deleted with the revocation, not left to fill the table until they expire.
    expect(await db.prisma.apiKeySession.count({ where: { keyId: created.key.id } })).toBe(0);
  });

  it('revokes a key once however many revocations race: one is the revocation, the others say it was revoked', async () => {
    const key = await newKey();
    await sessions.open(key.id, HOUR_MS);
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => keys.revocation(key.id)));
    expect(outcomes.filter((o) => o!.already === false)).toHaveLength(1);
    expect(new Set(outcomes.map((o) => o!.key.revokedAt)).size).toBe(1);
    expect(await db.prisma.apiKeySession.count({ where: { keyId: key.id } })).toBe(0);
    expect(await keys.revocation(key.id, 'another-project')).toBeNull();
  });

  it('leaves a key no more than its cap of sessions however many sign-ins race, the newest kept', async () => {
    const key = await newKey();
    const tokens = await Promise.all(Array.from({ length: 12 }, () => sessions.open(key.id, HOUR_MS, 3)));
    expect(await db.prisma.apiKeySession.count({ where: { keyId: key.id } })).toBe(3);
    const newest = await sessions.open(key.id, HOUR_MS, 3);
    expect(await db.prisma.apiKeySession.count({ where: { keyId: key.id } })).toBe(3);
    expect(await sessions.verify(newest)).not.toBeNull();
    expect((await Promise.all(tokens.map((t) => sessions.verify(t)))).filter(Boolean)).toHaveLength(2);
  });

  it('deletes at most 100 expired sessions a sign-in, of any key, and none live', async () => {
    const [a, b] = [await newKey(), await newKey()];
    const past = new Date(Date.now() - HOUR_MS);
    await db.prisma.apiKeySession.createMany({
      data: Array.from({ length: 150 }, (_, i) => ({
        id: randomUUID(),
        keyId: i % 2 ? a.id : b.id,
        digest: `expired-${randomUUID()}`,
        createdAt: past,
        expiresAt: past,
      })),
    });
    const live = await sessions.open(a.id, HOUR_MS);
    const expiredLeft = () => db.prisma.apiKeySession.count({ where: { expiresAt: { lte: new Date() } } });
    expect(await expiredLeft()).toBe(50);
    await sessions.open(b.id, HOUR_MS);
    expect(await expiredLeft()).toBe(0);
    expect(await sessions.verify(live)).not.toBeNull();
  });
});
