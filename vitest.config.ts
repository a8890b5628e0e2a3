import {defineConfig} from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests start real processes (sshd, tmux, the CLI): two cores, keep it sane.
    maxWorkers: 2,
    fileParallelism: true,
    // Simulated sites run every part at their profile's speed: the demo's slower pace
    // for people (profiles/rubin-tts-demo.yaml, sim.pace) would only lengthen the tests.
    env: {CREWCHIEF_SIM_PACE: 'off'},
  },
});
