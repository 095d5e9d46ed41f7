/** Tests run against real servers that the global setup starts on loopback (see test/global-setup.ts). */
module.exports = {
  // onnxruntime checks Float32Array across realms; this environment shares the host's typed arrays.
  testEnvironment: '<rootDir>/test/support/onnx-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testTimeout: 120000,
  maxWorkers: 1,
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/setup-logging.ts'],
};
