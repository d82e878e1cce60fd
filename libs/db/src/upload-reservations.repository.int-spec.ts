import { randomUUID } from 'node:crypto';
import type { Database } from './open-database';
import { useMigratedDatabase } from './testing';
import { UPLOAD_RESERVATION_HELD_MS, UploadReservationsRepository } from './upload-reservations.repository';

/** UploadReservationsRepository: the room uploads in progress set aside under their project's quota. */
describe('UploadReservationsRepository (PostgreSQL)', () => {
  let db: Database;
  let reservations: UploadReservationsRepository;

  useMigratedDatabase(async (opened) => {
    db = opened;
    reservations = new UploadReservationsRepository(db.prisma);
  });

  const uploaded = (project: string, bytes: number) =>
    db.prisma.dataset.create({
      data: {
        id: randomUUID(),
        name: `d-${randomUUID().slice(0, 8)}`,
        project,
        location: { kind: 's3', prefix: `datasets/uploads/${randomUUID()}/` },
        uri: 's3://bucket/x/',
        classNames: ['a', 'b'],
        counts: [1, 1],
        uploadedBytes: BigInt(bytes),
      },
    });
  const held = async (project: string) =>
    (await db.prisma.uploadReservation.findMany({ where: { project } }))
      .map((r) => Number(r.bytes))
      .sort((a, b) => a - b);

  it("grants what the room allows, counting the project's uploaded datasets and its other uploads, never another project's", async () => {
    await uploaded('room-a', 30);
    await uploaded('room-b', 1_000);
    const first = randomUUID();
    expect(
      await reservations.reserve({ id: first, project: 'room-a', defaultQuota: 100, atLeast: 1, atMost: 50 }),
    ).toEqual({
      granted: 50,
    });
    // 30 uploaded and 50 set aside: 20 left, granted though 40 were wanted, as at least 10 were.
    const second = randomUUID();
    expect(
      await reservations.reserve({ id: second, project: 'room-a', defaultQuota: 100, atLeast: 10, atMost: 40 }),
    ).toEqual({
      granted: 20,
    });
    expect(
      await reservations.reserve({ id: randomUUID(), project: 'room-a', defaultQuota: 100, atLeast: 1, atMost: 10 }),
    ).toEqual({ refused: { quota: 100, own: false, uploaded: 30, reserved: 70 } });

    // An upload grows its own reservation: what it held is not counted against it.
    expect(
      await reservations.reserve({ id: first, project: 'room-a', defaultQuota: 100, atLeast: 50, atMost: 60 }),
    ).toEqual({
      granted: 50,
    });
    await reservations.release(second);
    expect(
      await reservations.reserve({ id: first, project: 'room-a', defaultQuota: 100, atLeast: 50, atMost: 60 }),
    ).toEqual({
      granted: 60,
    });
    expect(await held('room-a')).toEqual([60]);
  });

  it('holds a project with a quota of its own (project_limits.max_upload_bytes) to it, above or below the default', async () => {
    await db.prisma.projectLimit.create({ data: { project: 'own-low', maxUploadBytes: 40n } });
    await db.prisma.projectLimit.create({ data: { project: 'own-high', maxUploadBytes: 500n } });
    const ask = (project: string, bytes: number) =>
      reservations.reserve({ id: randomUUID(), project, defaultQuota: 100, atLeast: bytes, atMost: bytes });
    expect(await ask('own-low', 50)).toEqual({ refused: { quota: 40, own: true, uploaded: 0, reserved: 0 } });
    expect(await ask('own-low', 40)).toEqual({ granted: 40 });
    expect(await ask('own-high', 300)).toEqual({ granted: 300 });
    expect((await reservations.usage(['own-high', 'own-low', 'none'])).get('own-high')).toEqual({
      uploaded: 0,
      reserved: 300,
    });
    expect((await reservations.usage(['none'])).get('none')).toEqual({ uploaded: 0, reserved: 0 });
  });

  it('never lets reservations racing for one room pass the quota together', async () => {
    await uploaded('race', 30);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        reservations.reserve({ id: randomUUID(), project: 'race', defaultQuota: 100, atLeast: 10, atMost: 10 }),
      ),
    );
    expect(outcomes.filter((o) => 'granted' in o)).toHaveLength(7);
    expect(await held('race')).toEqual(Array(7).fill(10));
  });

  it('stops counting a reservation not renewed for a day (an API process that died mid-upload) and deletes it', async () => {
    const dead = randomUUID();
    const live = randomUUID();
    for (const id of [dead, live])
      expect(await reservations.reserve({ id, project: 'stale', defaultQuota: 100, atLeast: 40, atMost: 40 })).toEqual({
        granted: 40,
      });
    const longAgo = new Date(Date.now() - UPLOAD_RESERVATION_HELD_MS - 60_000);
    await db.prisma.uploadReservation.updateMany({ where: { id: { in: [dead, live] } }, data: { renewedAt: longAgo } });
    // Renewed: counted again.
    await reservations.renew(live);
    expect(
      await reservations.reserve({ id: randomUUID(), project: 'stale', defaultQuota: 100, atLeast: 60, atMost: 60 }),
    ).toEqual({ granted: 60 });
    expect(await db.prisma.uploadReservation.findUnique({ where: { id: dead } })).toBeNull();
    expect(await held('stale')).toEqual([40, 60]);
  });
});
