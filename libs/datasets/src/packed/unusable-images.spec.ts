import type { PackedManifest } from './packed-manifest';
import { TooManyBadImagesError, UnusableClassesError, UnusableImages } from './unusable-images';

/**
 * A manifest of `images` entries in one shard (labels alternate over the first `classes` of
 * `classNames`), and `skipped` files left out.
 */
function manifest(images: number, skipped = 0, classNames = ['a', 'b'], classes = classNames.length): PackedManifest {
  return {
    format: 'trainyard-packed-v1',
    source: 's3://bucket/flowers/',
    classNames,
    images,
    shards: [
      {
        sha256: '0'.repeat(64),
        bytes: 0,
        entries: Array.from({ length: images }, (_, i) => ({ key: `flowers/${i}.png`, label: i % classes, bytes: 1 })),
      },
    ],
    ...(skipped > 0
      ? { skipped: Array.from({ length: skipped }, (_, i) => ({ file: `flowers/x${i}.jpg`, reason: 'r' })) }
      : {}),
  };
}
const bad = (i: number) => ({ file: `flowers/${i}.png`, reason: 'not a readable image' });

describe('UnusableImages', () => {
  it("allows maxBadFraction of the version's images, whatever the pack left out", () => {
    const unusable = new UnusableImages(manifest(100, 40), 0.29);
    expect(unusable.allowed).toBe(29); // 0.29 × 100 is 28.999… in floating point
    for (let i = 0; i < 29; i++) unusable.add(i, bad(i));
    expect(unusable.problem()).toBeNull();
    unusable.add(29, bad(29));
    const problem = unusable.problem();
    expect(problem).toBeInstanceOf(TooManyBadImagesError);
    expect(problem?.message).toBe(
      "30 of the version's 100 images are unusable, more than maxBadFraction 0.29 allows (the last: flowers/29.png: not a readable image)",
    );
    expect(new UnusableImages(manifest(10, 10), 0).problem()).toBeNull();
  });

  it('counts an image once, wherever it was found', () => {
    const unusable = new UnusableImages(manifest(10), 0.1);
    expect(unusable.add(3, bad(3))).toBe(true);
    expect(unusable.add(3, { file: 'flowers/3.png', reason: 'the object is missing' })).toBe(false);
    expect(unusable.count).toBe(1);
    expect(unusable.problem()).toBeNull();
  });

  it('fails a class with no usable image, whatever the share allows, naming it', () => {
    // A version packed before packs refused it: class "bad" has no entry, only files left out.
    const none = new UnusableImages(manifest(12, 6, ['ok', 'bad'], 1), 1).problem();
    expect(none).toBeInstanceOf(UnusableClassesError);
    expect(none?.message).toBe(
      'image folder s3://bucket/flowers/ cannot be used: class "bad" (no image packed) has no usable image in the packed version (the pack left out 6 files, named in the data report): a run could not learn it',
    );
    // Every image of class b found unusable, at load or by the stream.
    const unusable = new UnusableImages(manifest(6), 1);
    unusable.add(1, bad(1));
    unusable.add(3, bad(3));
    expect(unusable.problem()).toBeNull();
    unusable.add(5, bad(5));
    expect(unusable.problem()?.message).toMatch(
      /: class "b" \(all 3 unusable\) has no usable image in the packed version: /,
    );
  });
});
