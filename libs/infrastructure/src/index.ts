export { InfrastructureModule, type InfrastructureOptions } from './infrastructure.module';
export { CONFIG, DATABASE, OBJECT_STORE, REDIS, TRAINING_QUEUES } from './infrastructure.tokens';
export { logQueueErrors, openRedisConnection, watchRedisConnection } from './redis-reachability';
