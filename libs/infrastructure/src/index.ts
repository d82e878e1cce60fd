export { InfrastructureModule, type InfrastructureOptions } from './infrastructure.module';
export { CONFIG, DATABASE, OBJECT_STORE, REDIS, TRAINING_QUEUE } from './infrastructure.tokens';
