import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "store/**", "dist/**"],
    // Integration tests start real processes; give them room, never rely on it for correctness.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: run at most two test files at once.
    maxWorkers: 2,
  },
});
