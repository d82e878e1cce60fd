// `@trainyard/config/logger`: the apps' logger and start-failure printer. They build on NestJS's
// ConsoleLogger, so they live apart from the settings: training processes and device probes read
// the settings and test-only switches, and loading @nestjs/common and rxjs there would cost each
// of them about 0.2 s of start for nothing (libs/training/src/child-imports.int-spec.ts checks it).
export * from './safe-console-logger';
export * from './start-failure';
