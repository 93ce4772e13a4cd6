/** Tests run as ESM on Node 24; swc strips the types, tsc checks them separately. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } },
    ],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // `*.postgres.test.ts` need PostgreSQL itself (a server behind a proxy they control, or transactions
  // that truly overlap): the embedded run has neither.
  testPathIgnorePatterns: process.env.DATABASE_URL
    ? ['/node_modules/']
    : ['/node_modules/', '\\.postgres\\.test\\.ts$'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 2,
};
