/**
 * The `format` values a consumer of our schemas can be expected to know: the JSON Schema
 * 2020-12 vocabulary (section 7.3 of the validation spec) and, for OpenAPI 3.0 documents, the
 * data type formats of OpenAPI itself. Anything else (zod's "starts_with", "cidrv4"...) is
 * ignored by lenient validators and rejected by strict ones.
 */
export const JSON_SCHEMA_FORMATS = [
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex',
];
export const OPENAPI_FORMATS = [
  ...JSON_SCHEMA_FORMATS,
  'int32',
  'int64',
  'float',
  'double',
  'byte',
  'binary',
  'password',
];

/** Every `format` in a JSON document with where it sits, for a readable failure. */
export function formatsIn(value: unknown, at = ''): { at: string; format: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => formatsIn(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) => [
    ...(key === 'format' && typeof v === 'string' ? [{ at, format: v }] : []),
    ...formatsIn(v, `${at}/${key}`),
  ]);
}
