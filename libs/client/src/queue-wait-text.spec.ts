import { queueWaitParts } from './queue-wait-text';

describe('queueWaitParts', () => {
  const q = {
    resourceClass: 'gpu' as const,
    jobState: 'prioritized',
    ahead: 3,
    servingWorkers: 2,
    parked: false,
    projectLimit: null,
  };

  it('says where a waiting run stands in its class and who could take it', () => {
    expect(queueWaitParts(q)).toEqual(['3 jobs ahead in class gpu', '2 live workers serve it']);
    expect(queueWaitParts({ ...q, ahead: 1, servingWorkers: 1 })).toEqual([
      '1 job ahead in class gpu',
      '1 live worker serves it',
    ]);
    expect(queueWaitParts({ ...q, ahead: 0 })[0]).toBe('next in line in class gpu');
    expect(queueWaitParts({ ...q, jobState: 'delayed', ahead: null, servingWorkers: 0 })).toEqual([
      'given back for a moment (delayed) in class gpu',
      'no live worker serves it yet',
    ]);
    expect(queueWaitParts({ ...q, jobState: null, ahead: null })[0]).toMatch(
      /^not in the queue \(held by its pipeline/,
    );
    expect(queueWaitParts({ ...q, jobState: 'active', ahead: null })[0]).toBe('its job is active in class gpu');
  });

  it('says how many of the workers that serve it are draining or drained, and that it waits while all are', () => {
    expect(queueWaitParts({ ...q, ahead: 0, drainingWorkers: 2 })).toEqual([
      'next in line in class gpu',
      '2 live workers serve it, both drained or draining: it waits until a drain is taken back or another worker starts',
    ]);
    expect(queueWaitParts({ ...q, servingWorkers: 1, drainingWorkers: 1 })[1]).toBe(
      '1 live worker serves it, drained or draining: it waits until its drain is taken back or another worker starts',
    );
    expect(queueWaitParts({ ...q, servingWorkers: 3, drainingWorkers: 3 })[1]).toMatch(
      /^3 live workers serve it, all drained or draining: /,
    );
    expect(queueWaitParts({ ...q, servingWorkers: 3, drainingWorkers: 1 })[1]).toBe(
      '3 live workers serve it, 1 of them draining or drained',
    );
    expect(queueWaitParts({ ...q, drainingWorkers: 0 })).toEqual(queueWaitParts(q));
  });

  it("puts its project's limit first while the project is at it, and says nothing of it below", () => {
    const at = queueWaitParts({
      ...q,
      projectLimit: { project: 'vision', running: 2, limit: 2, source: 'default' as const },
    });
    expect(at).toEqual([
      'its project vision already trains 2 of the 2 runs it may at once (PROJECT_MAX_RUNNING): it starts when one of them ends',
      '3 jobs ahead in class gpu',
      '2 live workers serve it',
    ]);
    // A limit lowered below what already runs: still at it.
    expect(
      queueWaitParts({
        ...q,
        projectLimit: { project: 'vision', running: 5, limit: 2, source: 'project' as const },
      })[0],
    ).toBe(
      'its project vision already trains 5 of the 2 runs it may at once (its own limit): it starts when one of them ends',
    );
    expect(
      queueWaitParts({ ...q, projectLimit: { project: 'vision', running: 1, limit: 2, source: 'default' as const } }),
    ).toEqual(queueWaitParts(q));
  });

  it('says a parked job waits for a run of its project to end, once', () => {
    const parked = { ...q, jobState: 'delayed', ahead: null, parked: true };
    expect(queueWaitParts(parked)).toEqual([
      'parked in class gpu until a run of its project ends (its project was at its limit)',
      '2 live workers serve it',
    ]);
    expect(
      queueWaitParts({
        ...parked,
        projectLimit: { project: 'vision', running: 2, limit: 2, source: 'default' as const },
      }).slice(1),
    ).toEqual(['parked in class gpu', '2 live workers serve it']);
  });
});
