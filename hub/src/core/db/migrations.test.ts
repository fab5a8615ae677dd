import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIGRATIONS } from '../../migrations.js';
import { migrationChain } from './migrations.js';

const noop = () => ({ async up() {} });

test('the hub runs one migration chain, ordered by number, with no number used twice', () => {
  const names = Object.keys(MIGRATIONS);
  assert.deepEqual(names, [...names].sort());
  assert.equal(new Set(names.map((n) => n.slice(0, 4))).size, names.length);
  assert.equal(names[0], '0001_initial');
});

test('features listing migrations in any order still form one ordered chain', () => {
  const chain = migrationChain([{ '0004_b': noop }, { '0002_a': noop, '0009_c': noop }]);
  assert.deepEqual(Object.keys(chain), ['0002_a', '0004_b', '0009_c']);
});

test('two features claiming one number is refused, naming both', () => {
  assert.throws(() => migrationChain([{ '0004_models': noop }, { '0004_usage': noop }]), /0004_models.*0004_usage/);
});

test('a migration name without a number is refused', () => {
  assert.throws(() => migrationChain([{ usage: noop }]), /NNNN_words/);
});
