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
    ).toEqual({ training: { learningRate: 0.001, optimizer: 'adam' }, model: { type: 'classifier' }, checkpointEvery: null });
  });

  it('lets a deeper path win over a scalar given earlier for its parent', () => {
    expect(specContainment([{ path: ['model'], value: 'x' }, { path: ['model', 'type'], value: true }])).toEqual({ model: { type: true } });
  });
});
