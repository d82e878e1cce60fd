// One Jest config for the monorepo. `unit` specs isolate pure logic; `integration` specs
// (*.int-spec.ts) cross real boundaries: Redis, PostgreSQL, an S3 server over HTTP, child processes.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];
// NestJS 12 ships ES modules only; Jest (CommonJS here) loads them once swc turns them into CommonJS.
const swcJs = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022', keepClassNames: true }, module: { type: 'commonjs' } },
];
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc, '^.+\\.js$': swcJs },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  moduleNameMapper: {
    '^@trainyard/([a-z-]+)/testing$': '<rootDir>/libs/$1/src/testing/index.ts',
    '^@trainyard/config/logger$': '<rootDir>/libs/config/src/logger.ts',
    '^@trainyard/training/supervisor$': '<rootDir>/libs/training/src/supervisor.ts',
    '^@trainyard/client/browser$': '<rootDir>/libs/client/src/browser.ts',
    '^@trainyard/api-app$': '<rootDir>/apps/api/src/index.ts',
    '^@trainyard/worker-app$': '<rootDir>/apps/worker/src/index.ts',
    '^@trainyard/cli-app$': '<rootDir>/apps/cli/src/index.ts',
    '^@trainyard/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
  },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

// `disruptive` specs restart shared services (Redis): they would break suites running beside them,
// so Jest includes that project only when it is asked for by name (`--selectProjects disruptive`,
// run in band after the others by `npm test`) or a disruptive spec is named on the command line.
const disruptiveAsked = process.argv.some((arg) => arg === 'disruptive' || arg.includes('disruptive-spec'));

module.exports = {
  testTimeout: 120000,
  // Each test file loads TensorFlow.js (and its wasm heap) afresh; in one process that memory
  // piles up file after file, so tests run in worker processes that are recycled past 1 GB.
  maxWorkers: 2,
  workerIdleMemoryLimit: '1GB',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.int-spec.ts'] },
    ...(disruptiveAsked
      ? [{ ...common, displayName: 'disruptive', testMatch: ['<rootDir>/{apps,libs,tools}/**/*.disruptive-spec.ts'] }]
      : []),
  ],
};
