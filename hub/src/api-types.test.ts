import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { API_TYPES_FILE, REGENERATE_COMMAND, renderApiTypes } from './api-types.js';
import { describeHubApi } from './describe-api.js';

const INDEX_FILE = path.join(path.dirname(API_TYPES_FILE), 'index.d.ts');

test(`the committed API types are what the route schemas declare (else: ${REGENERATE_COMMAND})`, async () => {
  const wanted = await renderApiTypes(describeHubApi());
  const committed = readFileSync(API_TYPES_FILE, 'utf8');
  assert.ok(committed === wanted, `${path.relative(process.cwd(), API_TYPES_FILE)} is stale: the hub's route schemas changed. Run \`${REGENERATE_COMMAND}\` and commit the result.`);
});

// Consumers compile with skipLibCheck, which would hide a mistake in these
// declarations (a misspelt path turns an alias into `any`): check them here.
test('the API type names compile and each names a real shape', () => {
  const program = ts.createProgram([INDEX_FILE], {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, []);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(INDEX_FILE)!;
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
  const vague = ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Never | ts.TypeFlags.Undefined;
  const aliases = exported.filter((symbol) => {
    const declaration = symbol.declarations?.[0];
    return declaration && ts.isTypeAliasDeclaration(declaration) && !declaration.typeParameters;
  });
  assert.ok(aliases.length > 30, `only ${aliases.length} type names`);
  for (const symbol of aliases) {
    const type = checker.getDeclaredTypeOfSymbol(symbol);
    assert.equal(type.flags & vague, 0, `${symbol.name} is ${checker.typeToString(type)}`);
  }
});
