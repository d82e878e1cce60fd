import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { ApiOptions } from './api-options';
import { API_OPTIONS, TRAINYARD_CONFIG } from './config.tokens';

/**
 * The config is loaded once by the caller (main.ts, the demo, a test) and passed in, so nothing
 * inside the container reads process.env.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: TrainyardConfig, options: ApiOptions): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: TRAINYARD_CONFIG, useValue: config },
        { provide: API_OPTIONS, useValue: options },
      ],
      exports: [TRAINYARD_CONFIG, API_OPTIONS],
    };
  }
}
