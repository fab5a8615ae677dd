import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MaskingKeys } from './masking-keys.js';
import type { Column } from './model.js';

const email = (joinKey = false): Column => ({ name: 'email', type: 'string', pii: 'email', mask: null, description: '', ...(joinKey ? { joinKey } : {}) });
const sales = { name: 'sales', ownerTeam: 'sales-finance', columns: [email()] };
const crm = { name: 'crm', ownerTeam: 'sales-finance', columns: [email()] };
const keys = new MaskingKeys(Buffer.alloc(32, 7));
const token = (d: typeof sales, scope: string) => keys.maskerFor(d, 'email', scope).hash('ada@example.com');

test('the same value is a different token in another dataset and for another team', () => {
  assert.equal(token(sales, 'team:marketing'), token(sales, 'team:marketing'), 'one team sees stable tokens: its joins work');
  assert.notEqual(token(sales, 'team:marketing'), token(crm, 'team:marketing'), 'not linkable across datasets');
  assert.notEqual(token(sales, 'team:marketing'), token(sales, 'team:supply-chain'), 'not linkable across teams');
});

test("a join key uses one key across the owner's datasets, still per reading team", () => {
  const joinable = { ...sales, columns: [email(true)] };
  const joinableCrm = { ...crm, columns: [email(true)] };
  assert.equal(token(joinable, 'team:marketing'), token(joinableCrm, 'team:marketing'));
  assert.notEqual(token(joinable, 'team:marketing'), token(joinable, 'team:supply-chain'));
  const otherOwner = { name: 'leads', ownerTeam: 'marketing', columns: [email(true)] };
  assert.notEqual(token(joinable, 'team:marketing'), token(otherOwner, 'team:marketing'), "another owner's join keys are another key");
});
