/** Tests run against real servers that the global setup starts on loopback (see test/global-setup.ts). */
module.exports = {
  // onnxruntime checks Float32Array across realms; this environment shares the host's typed arrays.
  testEnvironment: '<rootDir>/test/support/onnx-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testTimeout: 120000,
  // One file at a time (2 cores, real servers), each in a fresh worker process: the Temporal native
  // runtime, onnxruntime and FAISS are process-wide, and work one file leaves running must not leak
  // into the next file's environment. A tiny idle-memory limit makes Jest recycle the worker per file.
  maxWorkers: 1,
  workerIdleMemoryLimit: '1MB',
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/setup-logging.ts'],
};
