/** The step actors live in ./steps/ (one module per kind); this keeps `./steps.js` imports working. */
export * from './steps/index.js';
