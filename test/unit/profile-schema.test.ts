/**
 * The JSON Schema for profiles (issue 13): generated from the field table the validator
 * uses, shipped as profiles/profile.schema.json, referenced by every shipped profile; it
 * accepts every shipped profile and rejects broken ones. Checked with a small JSON
 * Schema reader written here (the keywords the generator uses), not a dependency.
 */
import fs from 'node:fs';
import path from 'node:path';
import {parse} from 'yaml';
import {describe, expect, it} from 'vitest';
import {profileSchema} from '../../source/runbook/profile-schema.js';
import {repoRoot} from '../helpers/fixtures.js';

type Schema = Record<string, unknown>;
const schemaFile = path.join(repoRoot, 'profiles', 'profile.schema.json');

const typeOf = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'number' && Number.isInteger(v)
        ? 'integer'
        : typeof v;

/** Problems of `value` against `schema` (draft-07 subset), as `path: what`. */
function check(schema: Schema, value: unknown, at = '$'): string[] {
  const problems: string[] = [];
  if (schema['type'] !== undefined) {
    const types = [schema['type']].flat() as string[];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number')))
      return [`${at}: expected ${types.join('|')}, found ${t}`];
  }
  if (schema['enum'] && !(schema['enum'] as unknown[]).includes(value))
    problems.push(`${at}: not one of ${JSON.stringify(schema['enum'])}`);
  if (
    typeof value === 'string' &&
    schema['pattern'] &&
    !new RegExp(schema['pattern'] as string).test(value)
  )
    problems.push(`${at}: does not match ${String(schema['pattern'])}`);
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum'])
      problems.push(`${at}: below minimum`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum'])
      problems.push(`${at}: above maximum`);
    if (typeof schema['exclusiveMinimum'] === 'number' && value <= schema['exclusiveMinimum'])
      problems.push(`${at}: not above ${schema['exclusiveMinimum']}`);
  }
  if (schema['anyOf']) {
    const each = (schema['anyOf'] as Schema[]).map((s) => check(s, value, at));
    if (each.every((p) => p.length))
      problems.push(`${at}: matches none of anyOf (${each.flat().join('; ')})`);
  }
  if (Array.isArray(value) && schema['items'])
    value.forEach((v, i) => problems.push(...check(schema['items'] as Schema, v, `${at}[${i}]`)));
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const key of (schema['required'] ?? []) as string[])
      if (!(key in obj)) problems.push(`${at}: ${key} is required`);
    for (const [key, v] of Object.entries(obj)) {
      if (schema['propertyNames'])
        problems.push(...check(schema['propertyNames'] as Schema, key, `${at}.${key} (name)`));
      if (props[key]) problems.push(...check(props[key], v, `${at}.${key}`));
      else if (schema['additionalProperties'] === false)
        problems.push(`${at}.${key}: unknown field`);
      else if (typeof schema['additionalProperties'] === 'object')
        problems.push(...check(schema['additionalProperties'] as Schema, v, `${at}.${key}`));
    }
  }
  return problems;
}

const shipped = fs
  .readdirSync(path.join(repoRoot, 'profiles'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => path.join(repoRoot, 'profiles', f));

describe('the profile JSON Schema', () => {
  it('is the generated one (npm run schema regenerates it)', () => {
    expect(JSON.parse(fs.readFileSync(schemaFile, 'utf8'))).toEqual(profileSchema());
  });

  it('is referenced by every shipped profile', () => {
    expect(shipped.length).toBeGreaterThan(5);
    for (const file of shipped)
      expect(fs.readFileSync(file, 'utf8').split('\n')[0], file).toBe(
        '# yaml-language-server: $schema=./profile.schema.json',
      );
  });

  it('accepts every shipped profile', () => {
    const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as Schema;
    for (const file of shipped)
      expect(check(schema, parse(fs.readFileSync(file, 'utf8')) as unknown), file).toEqual([]);
  });

  it('rejects a broken profile, saying where', () => {
    const schema = profileSchema();
    const broken = parse(
      [
        'title: no site',
        'transport: telnet',
        'ssh: {strict_host_keys: "no", keepalive: {interval: soon}, colour: blue}',
        'hosts: {db: {address: db.example.org, port: 70000}}',
        'secrets: {pw: hunter2}',
        'team: {notify: {webhook: hook, events: [lunch]}}',
      ].join('\n'),
    ) as unknown;
    const problems = check(schema, broken);
    for (const expected of [
      /^\$: site is required/,
      /^\$\.transport: not one of/,
      /^\$\.ssh\.strict_host_keys: not one of/,
      /^\$\.ssh\.keepalive\.interval: matches none/,
      /^\$\.ssh\.colour: unknown field/,
      /^\$\.hosts\.db: matches none of anyOf .*port: above maximum/,
      /^\$\.secrets\.pw: matches none/,
      /^\$\.team\.notify\.events: matches none/,
    ])
      expect(
        problems.some((p) => expected.test(p)),
        `${String(expected)} in ${problems.join('\n')}`,
      ).toBe(true);
  });
});
