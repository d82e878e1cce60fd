import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '@trainyard/storage';
import { readPackedManifest } from './load-packed';
import {
  encodeManifest,
  PACKED_FORMAT,
  type PackedManifest,
  PackedManifestSchema,
  packedManifestKey,
} from './packed-manifest';

const manifest = (classNames: string[]): PackedManifest => ({
  format: PACKED_FORMAT,
  source: 'file:///data/pets/',
  classNames,
  images: 2,
  shards: [
    {
      sha256: 'a'.repeat(64),
      bytes: 2048,
      entries: [
        { key: 'pets/a/1.png', label: 0, bytes: 10 },
        { key: 'pets/b/2.png', label: 1, bytes: 10 },
      ],
    },
  ],
});

describe('PackedManifestSchema', () => {
  it('takes class names in any script, as folders name them', () => {
    expect(PackedManifestSchema.parse(manifest(['猫', ' dog 🐕']))).toEqual(manifest(['猫', ' dog 🐕']));
  });

  it.each([
    ['an OSC 52 clipboard write', '\u001b]52;c;cm0gLXJmIH4K\u0007', 'U+001B'],
    ['a right-to-left override', 'cat\u202egnp', 'U+202E'],
  ])('refuses a class name with %s, naming the field', (_what, name, code) => {
    const parsed = PackedManifestSchema.safeParse(manifest(['cat', name]));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]).toMatchObject({ path: ['classNames', 1], message: expect.stringContaining(code) });
  });

  it('is how a version read back from the store is checked: a crafted manifest is refused', async () => {
    const root = mkdtempSync(join(tmpdir(), 'packed-manifest-'));
    try {
      const store = new LocalObjectStore(root);
      const { bytes, version } = encodeManifest(manifest(['cat', '\u001b]52;c;cm0gLXJmIH4K\u0007']));
      await store.put(packedManifestKey(version), bytes);
      await expect(readPackedManifest(store, version)).rejects.toThrow(/not a packed-dataset manifest.*classNames/s);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
