import { sha256Hex } from './packed-manifest';
import { BadShardError, parseShard, shardMemberName, writeShard } from './packed-shard';

const files = [
  { key: 'flowers/rose/a.JPG', bytes: Buffer.from('first picture') },
  { key: 'flowers/tulip/b.png', bytes: Buffer.alloc(700, 7) }, // crosses a 512-byte tar block
  { key: 'flowers/tulip/empty.webp', bytes: Buffer.alloc(0) },
];
const shard = {
  sha256: '0'.repeat(64),
  bytes: 0,
  entries: files.map((f, i) => ({ key: f.key, label: i, bytes: f.bytes.length })),
};

describe('packed shards', () => {
  it('round-trips the files in order, and the same files give the same bytes', async () => {
    const tar = await writeShard(files);
    expect(await parseShard(tar, shard, 'k')).toEqual(files.map((f) => f.bytes));
    expect(sha256Hex(await writeShard(files))).toBe(sha256Hex(tar));
  });

  it('names members by position with a cleaned extension', () => {
    expect(shardMemberName(7, 'x/y/photo.JPG')).toBe('000007.jpg');
    expect(shardMemberName(1, 'x/../evil')).toBe('000001');
  });

  it('refuses a truncated tar, and one that does not hold what the manifest lists', async () => {
    const tar = await writeShard(files);
    await expect(parseShard(tar.subarray(0, 600), shard, 'shards/x.tar')).rejects.toThrow(BadShardError);
    await expect(parseShard(tar.subarray(0, 600), shard, 'shards/x.tar')).rejects.toThrow(/shards\/x\.tar/);
    const fewer = { ...shard, entries: [...shard.entries, { key: 'more', label: 0, bytes: 1 }] };
    await expect(parseShard(tar, fewer, 'k')).rejects.toThrow(/holds 3 files, the manifest lists 4/);
    const sizes = { ...shard, entries: shard.entries.map((e, i) => (i === 1 ? { ...e, bytes: 3 } : e)) };
    await expect(parseShard(tar, sizes, 'k')).rejects.toThrow(/file 1 has 700 bytes/);
  });
});
