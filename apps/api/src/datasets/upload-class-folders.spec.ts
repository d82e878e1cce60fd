import { UploadClassFolders } from './upload-class-folders';

describe('the class folders of an upload', () => {
  it('finds none without images when every folder named got an image', () => {
    const folders = new UploadClassFolders();
    folders.seen('cat');
    folders.stored('cat');
    folders.stored('dog');
    expect(folders.withoutImages()).toBeNull();
  });

  it('names the folders without an image in archive order, with the files there that were no images', () => {
    const folders = new UploadClassFolders();
    folders.seen('yellow');
    folders.stored('red');
    folders.notImage('green', { entry: 'green/1.png', reason: 'an empty file' });
    folders.notImage('green', { entry: 'green/2.png', reason: 'an empty file' });
    folders.notImage('red', { entry: 'red/9.png', reason: 'an empty file' });
    expect(folders.withoutImages()).toEqual({
      listed: ['yellow', 'green'],
      count: 2,
      notImages: { count: 2, first: { entry: 'green/1.png', reason: 'an empty file' } },
    });
  });

  it('lists the first 10 of many, counting all', () => {
    const folders = new UploadClassFolders();
    for (let i = 0; i < 12; i++) folders.seen(`c${i}`);
    expect(folders.withoutImages()).toMatchObject({ count: 12, listed: expect.arrayContaining(['c0', 'c9']) });
    expect(folders.withoutImages()?.listed).toHaveLength(10);
  });
});
