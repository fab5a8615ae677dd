type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every `$ref` below `node` that `renamed` knows, pointed at its new place. */
function rewriteRefs(node: unknown, renamed: Map<string, string>): void {
  if (Array.isArray(node)) {
    for (const item of node) rewriteRefs(item, renamed);
    return;
  }
  if (!isObject(node)) return;
  if (typeof node.$ref === 'string' && renamed.has(node.$ref)) node.$ref = renamed.get(node.$ref);
  for (const value of Object.values(node)) rewriteRefs(value, renamed);
}

/** The shared name of any JSON value (what `z.json()` accepts). */
export const JSON_VALUE = 'JsonValue';

const jsonValueSchema = (self: string) => ({
  anyOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
    { type: 'array', items: { $ref: self } },
    { type: 'object', propertyNames: { type: 'string' }, additionalProperties: { $ref: self } },
  ],
});

const JSON_VALUE_SCHEMA = jsonValueSchema(`#/components/schemas/${JSON_VALUE}`);

/** Whether `schema`, known as `self`, is zod's definition of any JSON value. */
function isJsonValue(schema: unknown, self: string): boolean {
  return JSON.stringify(schema) === JSON.stringify(jsonValueSchema(self));
}

/** Move the `$defs` found below `node` into `shared`, named after `owner`. */
function hoist(node: unknown, owner: string, shared: Json): void {
  if (Array.isArray(node)) {
    for (const item of node) hoist(item, owner, shared);
    return;
  }
  if (!isObject(node)) return;
  const defs = node.$defs;
  if (isObject(defs)) {
    delete node.$defs;
    const renamed = new Map<string, string>();
    for (const key of Object.keys(defs)) {
      const ref = `#/$defs/${key}`;
      if (isJsonValue(defs[key], ref)) {
        renamed.set(ref, `#/components/schemas/${JSON_VALUE}`);
        shared[JSON_VALUE] = JSON_VALUE_SCHEMA;
        continue;
      }
      const base = `${owner}.${key.replace(/^_+/, '')}`;
      let name = base;
      for (let n = 2; name in shared; n++) name = `${base}${n}`;
      renamed.set(ref, `#/components/schemas/${name}`);
      shared[name] = defs[key];
    }
    // The definitions refer to each other (and themselves) the same way.
    rewriteRefs(node, renamed);
    for (const def of Object.values(defs)) rewriteRefs(def, renamed);
  }
  for (const value of Object.values(node)) hoist(value, owner, shared);
}

/**
 * zod writes a recursive schema (such as `z.json()`) into `$defs` beside it
 * and refers to it as `#/$defs/…`. In an OpenAPI document such a reference
 * is resolved from the document's root, where there is nothing, so tools
 * that follow references (client generators, validators) fail. This moves
 * every such definition to `components.schemas` and points the references
 * there: any JSON value (`z.json()`) becomes the one `JsonValue`, others are
 * named after their operation (`postHubApiEcho.schema0`). The document is changed in place and returned.
 */
export function hoistSchemaDefinitions<T extends Json>(document: T): T {
  const components = ((document as Json).components ??= {}) as Json;
  const shared = (components.schemas ??= {}) as Json;
  const paths = isObject(document.paths) ? document.paths : {};
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue;
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation)) continue;
      hoist(operation, typeof operation.operationId === 'string' ? operation.operationId : method, shared);
    }
  }
  return document;
}

/** The local references (`#/…`) in `document` that point at nothing: what a client generator would fail on. */
export function unresolvedRefs(document: Json): string[] {
  const refs: string[] = [];
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(collect);
    else if (isObject(node)) {
      if (typeof node.$ref === 'string') refs.push(node.$ref);
      Object.values(node).forEach(collect);
    }
  };
  collect(document);
  const resolves = (ref: string): boolean => {
    if (!ref.startsWith('#/')) return false;
    let node: unknown = document;
    for (const raw of ref.slice(2).split('/')) {
      if (!isObject(node)) return false;
      node = node[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    return node !== undefined;
  };
  return [...new Set(refs)].filter((ref) => !resolves(ref));
}
