// `npm run test:faults`: the services as separate processes, broken on purpose (test/faults).
import base from './jest.config.js';

export default {
  ...base,
  roots: ['<rootDir>/test/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/faults/support/global-setup.ts',
  // One scenario waits out bind deadlines and outages.
  testTimeout: 300_000,
};
