export { InfrastructureModule, type InfrastructureOptions } from './infrastructure.module';
export { CONFIG, DATABASE, OBJECT_STORE, REDIS, TRAINING_QUEUES } from './infrastructure.tokens';
export { logQueueErrors, openRedisConnection, redisEndpoint, watchRedisConnection } from './redis-reachability';
export { exitAfterShutdownSignal } from './shutdown-backstop';
