// Loaded with --import into every test process that scripts/run-tests.mjs
// starts: gives each test that sets no `timeout` of its own the suite's
// per-test limit (ATRIUM_TEST_TIMEOUT_MS), so a hung test fails instead of
// stalling CI.
//
// Why not `node --test --test-timeout`: on Node 20 that limit is applied to
// each test *file* as a whole (the runner's own root), never to the tests
// inside it, and a describe() given a timeout bounds its whole suite. So the
// limit goes on leaf tests (test/it) only, and not inside a describe() that
// chose its own timeout: its tests inherit that one, as node:test intends.
// Hooks (before/after) keep no limit here; the runner's per-file limit
// bounds them.
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const nodeTest = require('node:test');
const perTestMs = Number(process.env.ATRIUM_TEST_TIMEOUT_MS);

/** Depth of describe() bodies that set their own timeout, being declared right now. */
let insideTimedSuite = 0;

/** node:test accepts (name?, options?, fn?): find the options object and the function. */
function parts(args) {
  return {
    optionsAt: args.findIndex((a) => a !== null && typeof a === 'object'),
    fnAt: args.findIndex((a) => typeof a === 'function'),
  };
}

function withDefaultTimeout(declare) {
  return function (...args) {
    if (insideTimedSuite > 0) return declare.apply(this, args);
    const { optionsAt, fnAt } = parts(args);
    if (optionsAt >= 0) {
      if (args[optionsAt].timeout === undefined) args[optionsAt] = { ...args[optionsAt], timeout: perTestMs };
    } else {
      args.splice(fnAt >= 0 ? fnAt : args.length, 0, { timeout: perTestMs });
    }
    return declare.apply(this, args);
  };
}

// describe() runs its body synchronously while declaring it, so a counter
// around the body tells the tests declared inside that a suite timeout holds.
function trackingSuiteTimeout(declare) {
  return function (...args) {
    const { optionsAt, fnAt } = parts(args);
    if (optionsAt < 0 || args[optionsAt].timeout === undefined || fnAt < 0) return declare.apply(this, args);
    const body = args[fnAt];
    args[fnAt] = function (...bodyArgs) {
      insideTimedSuite++;
      try {
        return body.apply(this, bodyArgs);
      } finally {
        insideTimedSuite--;
      }
    };
    return declare.apply(this, args);
  };
}

function wrap(declare, how) {
  // Keep what hangs off the original (test.after, test.mock, …); only the declaring variants change.
  const wrapped = Object.assign(how(declare), declare);
  for (const variant of ['skip', 'todo', 'only']) {
    if (typeof declare[variant] === 'function') wrapped[variant] = how(declare[variant]);
  }
  return wrapped;
}

if (Number.isFinite(perTestMs) && perTestMs > 0) {
  nodeTest.test = wrap(nodeTest.test, withDefaultTimeout);
  nodeTest.it = wrap(nodeTest.it, withDefaultTimeout);
  nodeTest.describe = wrap(nodeTest.describe, trackingSuiteTimeout);
  nodeTest.suite = wrap(nodeTest.suite, trackingSuiteTimeout);
  // `import { test } from 'node:test'` in the test files sees the wrappers.
  syncBuiltinESMExports();
}
