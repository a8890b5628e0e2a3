/**
 * The JSON Schema of a profile, generated from the field table the validator uses
 * (profile-fields.ts), for YAML editors: `# yaml-language-server: $schema=./profile.schema.json`
 * at the top of a profile gives completion and checks as you type. `npm run schema`
 * writes profiles/profile.schema.json; a test says it is up to date.
 */
import fs from 'node:fs';
import {NAME_PATTERN, PROFILE_FIELDS, type FieldSpec} from './profile-fields.js';

type Schema = Record<string, unknown>;

const DURATION = '^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$';
const name = {type: 'string', pattern: NAME_PATTERN};

function object(fields: Readonly<Record<string, FieldSpec>>): Schema {
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, schemaOf(f)])),
    additionalProperties: false,
  };
}

/** One field's schema. */
function schemaOf(spec: FieldSpec): Schema {
  const description = spec.description;
  switch (spec.kind) {
    case 'string':
      return {description, type: ['string', 'number']};
    case 'date':
      return {description, type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$'};
    case 'boolean':
      return {description, type: 'boolean'};
    case 'enum':
      return {description, enum: [...spec.values]};
    case 'duration':
      return {
        description,
        anyOf: [
          {type: 'number', minimum: 0},
          {type: 'string', pattern: DURATION},
        ],
      };
    case 'size':
      return {
        description,
        anyOf: [
          {type: 'number', exclusiveMinimum: 0},
          {type: 'string', pattern: '^\\d+\\s*([KkMmGg]?[Bb])?$'},
        ],
      };
    case 'port':
      return {description, type: 'integer', minimum: 1, maximum: 65535};
    case 'count':
      return {description, type: 'integer', minimum: 1};
    case 'positive':
      return {description, type: 'number', exclusiveMinimum: 0};
    case 'names': {
      const item = spec.values ? {enum: [...spec.values]} : name;
      return {description, anyOf: [item, {type: 'array', items: item}]};
    }
    case 'names-or-csv':
      return {description, anyOf: [{type: 'string'}, {type: 'array', items: name}]};
    case 'variables':
      return {
        description,
        type: 'object',
        propertyNames: name,
        additionalProperties: {type: ['string', 'number', 'boolean', 'null']},
      };
    case 'env':
      return {
        description,
        type: 'object',
        propertyNames: {type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$'},
        additionalProperties: {type: ['string', 'number', 'boolean']},
      };
    case 'secret-ref':
      return {
        description,
        anyOf: [
          {
            type: 'object',
            properties: {env: {type: 'string'}},
            required: ['env'],
            additionalProperties: false,
          },
          {
            type: 'object',
            properties: {file: {type: 'string'}},
            required: ['file'],
            additionalProperties: false,
          },
        ],
      };
    case 'object': {
      const full = object(spec.fields);
      return spec.shorthand
        ? {description, anyOf: [schemaOf(spec.shorthand), full]}
        : {description, ...full};
    }
    case 'map':
      return {
        description,
        type: 'object',
        propertyNames: name,
        additionalProperties: schemaOf(spec.values),
      };
  }
}

/** The schema of a profile file. */
export function profileSchema(): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'crewchief profile',
    description:
      'One installation of a site: hosts, variables, secrets by reference. Generated from source/runbook/profile-fields.ts (npm run schema); crewchief validate checks the rest (hosts named by groups, variables the site uses).',
    ...object(PROFILE_FIELDS),
    required: ['site'],
  };
}

/** The schema as the shipped file holds it. */
export const profileSchemaText = (): string => `${JSON.stringify(profileSchema(), null, 2)}\n`;

/** Writes the schema file (`npm run schema`). */
export function writeProfileSchema(file: string): void {
  fs.writeFileSync(file, profileSchemaText());
}
