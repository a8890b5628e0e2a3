/** The version: inlined by the single-file build, read from package.json otherwise. */
import {createRequire} from 'node:module';

declare const CREWCHIEF_VERSION: string | undefined;

export const version: string =
  typeof CREWCHIEF_VERSION === 'string'
    ? CREWCHIEF_VERSION
    : (createRequire(import.meta.url)('../../package.json') as {version: string}).version;
