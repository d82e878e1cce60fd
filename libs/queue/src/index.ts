export * from './redis-connection';
export * from './redis-unavailable.error';
export * from './redis-eviction-policy.error';
export * from './redis-checks';
export * from './training-queue';
export * from './training-queues';
export * from './pipeline-queue';
export * from './redis-full';
