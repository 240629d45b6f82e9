/** Three tiers (see README): unit beside the code, integration and e2e against real services. */
const swc = ['@swc/jest', { swcrc: true }];
const base = {
  transform: {
    '^.+\\.ts$': swc,
    '^.+\\.m?js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } },
    ],
  },
  // jose, oidc-provider and the Arcjet packages are published as ES modules only; compile them
  // like our own code.
  transformIgnorePatterns: [
    '/node_modules/(?!(jose|oidc-provider|@arcjet|arcjet|arcjet-node-[^/]+)/)',
  ],
  testEnvironment: 'node',
};
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.spec.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'] },
  ],
};
