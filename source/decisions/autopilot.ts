/** The flags' and the autopilot's answers (they live with the engine, which retries on them). */
export * from '../engine/autopilot.js';
