/** The version: inlined by the single-file build, read from package.json otherwise. */
import {createRequire} from 'node:module';

declare const CREWCHIEF_VERSION: string | undefined;

/** package.json is two folders up from dist/source/, one from source/ (run through tsx). */
function fromPackageJson(): string {
  const require = createRequire(import.meta.url);
  for (const up of ['../../package.json', '../package.json']) {
    try {
      const pkg = require(up) as {name?: string; version?: string};
      if (pkg.name === 'crewchief' && pkg.version) return pkg.version;
    } catch {
      // not there: the other layout
    }
  }
  return 'unknown';
}

export const version: string =
  typeof CREWCHIEF_VERSION === 'string' ? CREWCHIEF_VERSION : fromPackageJson();
