import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A hang guard, not a speed check (tests never assert wall-clock speed): CPU-heavy property tests
    // took 2-3 s on a loaded 2-core host and failed a 2 s limit although they were correct.
    testTimeout: 15_000,
    hookTimeout: 10_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
