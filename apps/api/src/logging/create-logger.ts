import type { LoggerService } from '@nestjs/common';
import { logLevelsUpTo, type TrainyardConfig } from '@trainyard/config';
import { SafeConsoleLogger } from '@trainyard/config/logger';

/** Nest's logger with secrets redacted: one JSON object per line when LOG_JSON is set (for log shippers), text otherwise. */
export function createLogger(config: TrainyardConfig, context = 'trainyard-api'): LoggerService {
  return new SafeConsoleLogger(context, {
    json: config.log.json,
    logLevels: logLevelsUpTo(config.log.level),
    prefix: 'Trainyard',
  });
}
