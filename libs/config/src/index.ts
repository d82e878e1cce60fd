export * from './config.schema';
export * from './load-config';
export * from './log-levels';
export * from './redact';
export * from './log-fields';
export * from './test-only-settings';
export * from './shutdown-margins';
