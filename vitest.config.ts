import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 2_000,
    hookTimeout: 10_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
