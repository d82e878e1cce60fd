import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { ApiOptions } from './api-options';
import { API_OPTIONS } from './config.tokens';

/**
 * The options createApiApp was given. The config is loaded once by the caller (main.ts, the
 * demo, a test) and provided by InfrastructureModule, so nothing inside the container reads
 * process.env.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(options: ApiOptions): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: API_OPTIONS, useValue: options }],
      exports: [API_OPTIONS],
    };
  }
}
