import { createJobRequest, formatDuration, jobNameFrom, jobSettings, type JobForm, parameterCell, parameterValue, parsePythonLiteral, runNotebookPath } from '../jobs';
import type { PublishedNotebook } from '../apiTypes';

const code = (source: string | string[], tags: string[] = []) => ({ cell_type: 'code', source, metadata: tags.length ? { tags } : {}, outputs: [] });

describe('parameterCell', () => {
  it('reads the name = value lines of the first code cell tagged parameters', () => {
    const nb = {
      cells: [
        { cell_type: 'markdown', source: 'region = "not this"', metadata: { tags: ['parameters'] } },
        code('import os'),
        code(['# defaults\n', 'region = "north"  # where\n', 'limit: int = 3\n', 'ratio=0.5\n', 'note = "a # b"\n', '  indented = 1\n', 'if limit == 3:\n', '    pass\n'], ['parameters']),
        code('region = "later"', ['parameters']),
      ],
    };
    expect(parameterCell(nb)).toEqual({
      found: true,
      parameters: [
        { name: 'region', value: '"north"' },
        { name: 'limit', value: '3' },
        { name: 'ratio', value: '0.5' },
        { name: 'note', value: '"a # b"' },
      ],
    });
  });

  it('joins a value that spans lines and keeps the last assignment of a name', () => {
    const nb = { cells: [code('regions = [\n    "north",  # main\n    "south",\n]\nlimit = 1\nlimit = 2', ['parameters'])] };
    expect(parameterCell(nb).parameters).toEqual([
      { name: 'regions', value: '[ "north", "south", ]' },
      { name: 'limit', value: '2' },
    ]);
  });

  it('says when the notebook has no parameters cell', () => {
    expect(parameterCell({ cells: [code('x = 1')] })).toEqual({ found: false, parameters: [] });
    expect(parameterCell({})).toEqual({ found: false, parameters: [] });
    expect(parameterCell({ cells: [code('# nothing yet', ['parameters'])] })).toEqual({ found: true, parameters: [] });
  });
});

describe('parsePythonLiteral', () => {
  it('turns Python literals into JSON values', () => {
    const ok = (text: string) => {
      const r = parsePythonLiteral(text);
      if (!r.ok) throw new Error(`${text} did not parse`);
      return r.value;
    };
    expect(ok('"north"')).toBe('north');
    expect(ok("'it\\'s'")).toBe("it's");
    expect(ok("r'C:\\data'")).toBe('C:\\data');
    expect(ok('"a" "b"')).toBe('ab');
    expect(ok('10')).toBe(10);
    expect(ok('-2.5e3')).toBe(-2500);
    expect(ok('1_000')).toBe(1000);
    expect(ok('True')).toBe(true);
    expect(ok('False')).toBe(false);
    expect(ok('None')).toBeNull();
    expect(ok('[1, "two", (3, 4),]')).toEqual([1, 'two', [3, 4]]);
    expect(ok("{'a': 1, 2: [True]}")).toEqual({ a: 1, '2': [true] });
    expect(ok('"caf\\u00e9"')).toBe('café');
  });

  it('refuses what is not a literal', () => {
    for (const text of ['north', 'date.today()', '1 + 2', '[1, 2', '"open', 'np.nan', '10O', '{1}']) {
      expect(parsePythonLiteral(text)).toEqual({ ok: false });
    }
  });
});

describe('parameterValue', () => {
  it('takes literals, and plain words as text', () => {
    expect(parameterValue('region', ' "south" ')).toEqual({ ok: true, value: 'south' });
    expect(parameterValue('region', 'south')).toEqual({ ok: true, value: 'south' });
    expect(parameterValue('limit', '5')).toEqual({ ok: true, value: 5 });
    expect(parameterValue('day', '2026-11-30')).toEqual({ ok: true, value: '2026-11-30' });
  });

  it('explains what it cannot send', () => {
    const r = parameterValue('start', 'date(2026, 1, 1)');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/^start: write a Python value/);
    expect(parameterValue('flag', 'true')).toMatchObject({ ok: false });
    expect(parameterValue('region', '  ')).toEqual({ ok: false, error: "Give region a value, or put back the notebook's." });
  });
});

describe('jobNameFrom', () => {
  it('slugifies the notebook file name', () => {
    expect(jobNameFrom('reports/Weekly Sales Report (v2).ipynb')).toBe('weekly-sales-report-v2');
    expect(jobNameFrom('Prévisions_été.ipynb')).toBe('previsions-ete');
    expect(jobNameFrom('__.ipynb')).toBe('job');
    expect(jobNameFrom(`${'a'.repeat(62)}-b.ipynb`)).toBe('a'.repeat(62));
  });
});

describe('building the request', () => {
  const form = (over: Partial<JobForm> = {}): JobForm => ({
    name: ' weekly-report ',
    mode: 'once',
    schedule: '0 6 * * 1-5',
    timezone: 'Europe/Berlin',
    alsoRunNow: false,
    parameters: [
      { name: 'region', default: '"north"', value: '"south"' },
      { name: 'limit', default: '3', value: ' 3 ' },
      { name: 'start', default: 'date.today()', value: 'date.today()' },
    ],
    image: 'datascience',
    size: 'small',
    timeoutMinutes: '30',
    retries: '1',
    ...over,
  });

  it('sends only the parameters that differ from the notebook, and runs once now without a schedule', () => {
    expect(jobSettings(form(), 'reports/weekly.ipynb')).toEqual({
      ok: true,
      settings: {
        name: 'weekly-report',
        notebookPath: 'reports/weekly.ipynb',
        parameters: { region: 'south' },
        image: 'datascience',
        size: 'small',
        schedule: null,
        timezone: 'Europe/Berlin',
        timeoutMinutes: 30,
        retries: 1,
        runNow: true,
      },
    });
  });

  it('sends the schedule (normalised) and runs now only when asked', () => {
    const scheduled = jobSettings(form({ mode: 'schedule', schedule: ' */5  * * * * ' }), 'a.ipynb');
    expect(scheduled.ok && scheduled.settings).toMatchObject({ schedule: '*/5 * * * *', runNow: false });
    const both = jobSettings(form({ mode: 'schedule', alsoRunNow: true }), 'a.ipynb');
    expect(both.ok && both.settings).toMatchObject({ schedule: '0 6 * * 1-5', runNow: true });
  });

  it('names the field of the first problem', () => {
    const problem = (over: Partial<JobForm>) => {
      const r = jobSettings(form(over), 'a.ipynb');
      return r.ok ? null : r.problem.field;
    };
    expect(problem({ parameters: [{ name: 'start', default: '1', value: 'date(2026, 1, 1)' }] })).toBe('parameters.start');
    expect(problem({ mode: 'schedule', schedule: '  ' })).toBe('schedule');
    expect(problem({ timeoutMinutes: '0' })).toBe('timeoutMinutes');
    expect(problem({ timeoutMinutes: '1.5' })).toBe('timeoutMinutes');
    expect(problem({ retries: '-1' })).toBe('retries');
    // A schedule typed and then left for "Run once now" is not checked or sent.
    expect(problem({ mode: 'once', schedule: '' })).toBeNull();
  });

  it('adds the saved notebook to the settings', () => {
    const r = jobSettings(form(), 'a.ipynb');
    if (!r.ok) throw new Error(r.problem.message);
    const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [code('x = 1')] } as unknown as PublishedNotebook;
    expect(createJobRequest(r.settings, nb)).toEqual({ ...r.settings, notebook: nb });
  });
});

describe('panel wording', () => {
  it('names run notebooks and durations', () => {
    expect(runNotebookPath('weekly-report', 12)).toBe('job-runs/weekly-report-run-12.ipynb');
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(8.2)).toBe('8 s');
    expect(formatDuration(185)).toBe('3 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(3720)).toBe('1 h 2 min');
  });
});
