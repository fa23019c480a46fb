// Tests are transpiled without type checking (fast); `npm test` type-checks everything once
// with `tsc --noEmit` first.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  // The startup-script execution harness (*.exec.test.ts, bubblewrap sandboxes) runs only
  // through `npm run test:script`, which overrides this list.
  testPathIgnorePatterns: ["/node_modules/", "\\.exec\\.test\\.ts$"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json", diagnostics: false }] },
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 60000,
};
