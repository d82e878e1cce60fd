import { specContainment } from './run-list.query';

describe('specContainment', () => {
  it('nests every filter into one JSON document, so one GIN containment test answers them all', () => {
    expect(
      specContainment([
        { path: ['training', 'learningRate'], value: 0.001 },
        { path: ['training', 'optimizer'], value: 'adam' },
        { path: ['model', 'type'], value: 'classifier' },
        { path: ['checkpointEvery'], value: null },
      ]),
    ).toEqual({
      training: { learningRate: 0.001, optimizer: 'adam' },
      model: { type: 'classifier' },
      checkpointEvery: null,
    });
  });

  it('lets a deeper path win over a scalar given earlier for its parent', () => {
    expect(
      specContainment([
        { path: ['model'], value: 'x' },
        { path: ['model', 'type'], value: true },
      ]),
    ).toEqual({ model: { type: true } });
  });
});

describe('specContainment with hostile paths (issue #9)', () => {
  afterEach(() => {
    delete (Object.prototype as Record<string, unknown>)['polluted'];
  });

  it.each([['__proto__'], ['constructor'], ['prototype']])(
    'refuses a %s segment and leaves Object.prototype alone',
    (segment) => {
      expect(() => specContainment([{ path: [segment, 'polluted'], value: 1 }])).toThrow(RangeError);
      expect(() => specContainment([{ path: ['training', segment], value: 1 }])).toThrow(RangeError);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    },
  );

  it('builds null-prototype objects, so no key is looked up on Object.prototype', () => {
    const containment = specContainment([{ path: ['toString', 'x'], value: 1 }]);
    expect(Object.getPrototypeOf(containment)).toBeNull();
    expect(JSON.stringify(containment)).toBe('{"toString":{"x":1}}');
  });
});
