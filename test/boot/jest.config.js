// The boot test only (npm run test:boot, through ci/boot/run.sh): minutes per test, not seconds.
import base from '../../jest.config.js';

export default {
  ...base,
  rootDir: '../..',
  testMatch: ['<rootDir>/test/boot/**/*.boot-test.ts'],
  testTimeout: 30 * 60_000,
};
