import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import { logLevelsUpTo, type TrainyardConfig } from '@trainyard/config';

/** Nest's own logger: one JSON object per line when LOG_JSON is set (for log shippers), text otherwise. */
export function createLogger(config: TrainyardConfig, context = 'trainyard-api'): LoggerService {
  return new ConsoleLogger(context, {
    json: config.log.json,
    logLevels: logLevelsUpTo(config.log.level),
    prefix: 'Trainyard',
  });
}
