/**
 * Batch scoring: a job that runs a promoted model over a data set and
 * writes its predictions as a new version of a data set in the catalog.
 *
 * The run executes the model version's own notebook (as its model server
 * does, so `predict()` is the one that serves), then a scoring cell that
 * reads the input through the hub as the job's owner (grants and masking
 * apply), calls `predict()` on batches of rows and writes
 * `outputs/predictions.csv`. After the run the hub publishes that file as a
 * version of the output data set, owned by the job's team, classified no
 * lower than anything the run read or the model was trained on, with its
 * identifying columns keeping the input's personal-data rules (so readers
 * without clearance see them masked), and with lineage back to the model
 * version and the input version.
 */
import { cpSync, createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { canAdministerTeam, mayWorkWithModelsOf, type Actor } from '../core/authorization.js';
import { badRequest, forbidden } from '../core/errors.js';
import { strictness, type Classification, type Column, type Dataset, type VersionLineage } from '../data/model.js';
import type { DataService } from '../data/service.js';
import type { ModelRegistry } from '../models/registry.js';
import { text, type Cell, type Notebook } from '../models/notebook.js';
import { pythonLiteral } from './parameters.js';
import { parseModelRef, PREDICTIONS, SUMMARY, type Scoring } from './scoring-settings.js';
import type { JobRecord, RunRecord } from './store.js';

/** What a scoring run resolved when it started, for publishing at its end. */
export interface ScoringContext {
  scoring: Scoring;
  model: { team: string; model: string; alias: string; version: number; datasets: { name: string }[] };
  input: Dataset;
}

export class BatchScoring {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly data: DataService,
    private readonly userOf: (name: string) => Promise<Actor | undefined>,
  ) {}

  /** Checks when a scoring job is created or changed; throws a 4xx with a sentence naming the field. */
  async check(owner: Actor, team: string, scoring: Scoring): Promise<{ input: Dataset; features: string[] }> {
    if (!canAdministerTeam(owner, team)) throw forbidden(`A batch-scoring job publishes to team ${team}'s catalog, which only its admins (and platform admins) do: ask an admin of ${team} to create it.`);
    const ref = parseModelRef(scoring.model);
    if (!mayWorkWithModelsOf(owner, ref.team)) throw badRequest(`There is no model ${ref.team}/${ref.model} that you can see.`, 'scoring.model');
    const aliases = await this.registry.store.aliases(ref.team, ref.model);
    if (!aliases.some((a) => a.alias === ref.alias)) throw badRequest(`Model ${ref.team}/${ref.model} has no ${ref.alias} version yet: promote one first.`, 'scoring.model');
    const input = await this.data.data.getDataset(scoring.input);
    if (!input) throw badRequest(`There is no data set ${scoring.input}.`, 'scoring.input');
    if (input.format !== 'csv') throw badRequest(`Batch scoring reads CSV data sets; ${input.name} is ${input.format}.`, 'scoring.input');
    const view = await this.data.view(owner, input.name);
    if (!view.access.allowed) throw badRequest(`You cannot read ${input.name}: ${view.access.reason}`, 'scoring.input');
    if (input.currentVersion === 0) throw badRequest(`${input.name} has no data yet: its owners upload a version first.`, 'scoring.input');
    const names = new Set(input.columns.map((c) => c.name));
    for (const [field, list] of [['idColumns', scoring.idColumns], ['featureColumns', scoring.featureColumns ?? []]] as const) {
      for (const c of list) if (!names.has(c)) throw badRequest(`${input.name} has no column "${c}"; its columns are ${[...names].join(', ')}.`, `scoring.${field}`);
    }
    if (scoring.idColumns.includes('prediction')) throw badRequest('"prediction" is the output’s own column; rename the id column.', 'scoring.idColumns');
    const features = scoring.featureColumns ?? input.columns.map((c) => c.name).filter((c) => !scoring.idColumns.includes(c));
    if (features.length === 0) throw badRequest('predict() needs at least one feature column.', 'scoring.featureColumns');
    const output = await this.data.data.getDataset(scoring.output);
    if (output && output.ownerTeam !== team) throw badRequest(`Data set ${output.name} belongs to team ${output.ownerTeam}; a job of team ${team} writes only its own team's data sets. Pick a new name.`, 'scoring.output');
    if (output && output.format !== 'csv') throw badRequest(`Data set ${output.name} is ${output.format}; scoring writes CSV.`, 'scoring.output');
    if (scoring.output === scoring.input) throw badRequest('The output must be another data set than the input.', 'scoring.output');
    return { input, features };
  }

  /** The job's notebook: its parameters and the scoring cell; the model's own cells are put before it when a run starts. */
  async notebook(owner: Actor, team: string, scoring: Scoring): Promise<Notebook> {
    const { input, features } = await this.check(owner, team, scoring);
    const types = Object.fromEntries(input.columns.map((c) => [c.name, c.type]));
    const cells: Cell[] = [
      {
        cell_type: 'markdown',
        metadata: {},
        source: `# Batch scoring\nScores **${input.name}** with **${scoring.model}** and writes the predictions to **${scoring.output}**.\n\nGenerated by Atrium. At each run, the notebook of the model version the alias points to runs first (as its model server runs it), then the cell below.`,
      },
      {
        cell_type: 'code',
        metadata: { tags: ['parameters'] },
        source: [
          `model = ${pythonLiteral(scoring.model)}`,
          `input_dataset = ${pythonLiteral(scoring.input)}`,
          `id_columns = ${pythonLiteral(scoring.idColumns)}`,
          `feature_columns = ${pythonLiteral(features)}`,
          `column_types = ${pythonLiteral(types)}`,
          `batch_size = ${scoring.batchSize}`,
        ].join('\n'),
        outputs: [],
        execution_count: null,
      },
      { cell_type: 'code', metadata: { tags: ['atrium-scoring'] }, source: SCORING_CELL, outputs: [], execution_count: null },
    ];
    return { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } }, cells };
  }

  /**
   * At the start of a run: the alias's version now, its bundle copied under
   * `model/`, and its code cells put before the scoring cell.
   */
  async prepare(job: JobRecord, run: RunRecord, scoring: Scoring, bundleDir: string, notebook: Notebook): Promise<{ notebook: Notebook; context: ScoringContext }> {
    const owner = await this.userOf(run.owner);
    if (!owner) throw new Error(`${run.owner}, who owns this job, is no longer a user of this hub.`);
    const { input } = await this.check(owner, job.team, scoring).catch((err: Error) => {
      throw new Error(`The scoring job can no longer run as ${run.owner}: ${err.message}`);
    });
    const ref = parseModelRef(scoring.model);
    const alias = (await this.registry.store.aliases(ref.team, ref.model)).find((a) => a.alias === ref.alias)!;
    const version = await this.registry.store.getVersion(ref.team, ref.model, alias.version);
    const source = this.registry.bundles.dirFor(ref.team, ref.model, alias.version);
    const modelNotebook = this.registry.bundles.readNotebook(ref.team, ref.model, alias.version);
    if (!version || !modelNotebook || !existsSync(source)) throw new Error(`The bundle of ${ref.team}/${ref.model} v${alias.version} is missing on this hub.`);
    cpSync(source, path.join(bundleDir, 'model'), { recursive: true });
    const at = notebook.cells.findIndex((c) => Array.isArray((c.metadata as { tags?: unknown }).tags) && ((c.metadata as { tags: string[] }).tags).includes('atrium-scoring'));
    const modelCells: Cell[] = [
      { cell_type: 'markdown', metadata: { tags: ['atrium-model'] }, source: `## ${ref.team}/${ref.model} v${alias.version} (${ref.alias})\nThe model version's notebook, as its model server runs it.` },
      { cell_type: 'code', metadata: { tags: ['atrium-model'] }, source: 'import os as _atrium_os\n_atrium_root = _atrium_os.getcwd()\n_atrium_os.chdir("model")', outputs: [], execution_count: null },
      ...modelNotebook.cells.filter((c) => c.cell_type === 'code' && text(c.source).trim()).map((c): Cell => ({ cell_type: 'code', metadata: { tags: ['atrium-model'] }, source: text(c.source), outputs: [], execution_count: null })),
      { cell_type: 'code', metadata: { tags: ['atrium-model'] }, source: '_atrium_os.chdir(_atrium_root)', outputs: [], execution_count: null },
    ];
    const cells = at < 0 ? [...notebook.cells, ...modelCells] : [...notebook.cells.slice(0, at), ...modelCells, ...notebook.cells.slice(at)];
    return {
      notebook: { ...notebook, cells },
      context: { scoring, input, model: { team: ref.team, model: ref.model, alias: ref.alias, version: alias.version, datasets: version.datasets.map((d) => ({ name: d.name })) } },
    };
  }

  /** After a successful run: the predictions become a version of the output data set, with lineage. Returns what to tell people. */
  async publish(job: JobRecord, run: RunRecord, context: ScoringContext, outputsDir: string, reads: { name: string; version: string }[]): Promise<string> {
    const { scoring, model } = context;
    const file = path.join(outputsDir, PREDICTIONS);
    if (!existsSync(file)) throw new Error(`The run wrote no outputs/${PREDICTIONS} to publish.`);
    const owner = await this.userOf(run.owner);
    if (!owner || !canAdministerTeam(owner, job.team)) throw new Error(`${run.owner} is no longer an admin of team ${job.team}, so the predictions were not published to its catalog.`);
    const summary = readSummary(path.join(outputsDir, SUMMARY));
    const inputVersion = Number(reads.find((r) => r.name === scoring.input)?.version ?? context.input.currentVersion);
    // No lower than anything that went in: the input, whatever else the run read, what the model was trained on.
    const sources = new Set([scoring.input, ...reads.map((r) => r.name), ...model.datasets.map((d) => d.name)]);
    let classification: Classification = 'public';
    let strictest = scoring.input;
    for (const name of sources) {
      const d = name === scoring.input ? context.input : await this.data.data.getDataset(name);
      if (d && strictness(d.classification) > strictness(classification)) {
        classification = d.classification;
        strictest = d.name;
      }
    }
    const columns: Column[] = [
      ...scoring.idColumns.map((name) => {
        const c = context.input.columns.find((x) => x.name === name)!;
        return { ...c, description: c.description || `From ${scoring.input}` };
      }),
      { name: 'prediction', type: summary.predictionType, pii: null, mask: null, description: `${model.team}/${model.model} (${model.alias}) prediction`, joinKey: false },
    ];
    let output = await this.data.data.getDataset(scoring.output);
    if (!output) {
      output = await this.data.register(owner, {
        name: scoring.output,
        title: `${scoring.input} scored by ${model.team}/${model.model}`,
        description: `Predictions of ${model.team}/${model.model} (${model.alias}) for each row of ${scoring.input}, written by the batch-scoring job ${job.team}/${job.name}.`,
        ownerTeam: job.team,
        classification,
        format: 'csv',
        columns,
        tags: ['batch-scoring'],
        productionAllowed: false,
      });
    } else {
      if (strictness(output.classification) < strictness(classification)) {
        throw new Error(`${output.name} is classified ${output.classification}, lower than ${strictest} (${classification}) that went into these predictions; an admin of team ${output.ownerTeam} must classify it ${classification} or stricter first.`);
      }
      const expected = columns.map((c) => c.name).join(', ');
      if (output.columns.map((c) => c.name).join(', ') !== expected) throw new Error(`${output.name} has the columns ${output.columns.map((c) => c.name).join(', ')}, not ${expected}; pick a new output name.`);
    }
    const lineage: VersionLineage = {
      job: { name: `${job.team}/${job.name}`, run: run.id },
      model: { name: `${model.team}/${model.model}`, version: model.version, alias: model.alias },
      inputs: [{ name: scoring.input, version: inputVersion }],
    };
    const v = await this.data.upload(owner, scoring.output, createReadStream(file), {
      contentType: 'text/csv',
      note: `Batch scoring: run ${run.id} of job ${job.team}/${job.name}, ${model.team}/${model.model} v${model.version} (${model.alias}) on ${scoring.input} v${inputVersion}`,
      lineage,
    });
    return `Scored ${summary.rows} rows of ${scoring.input} v${inputVersion} with ${model.team}/${model.model} v${model.version} (${model.alias}); wrote ${scoring.output} v${v.version} (${output.classification}).`;
  }
}

function readSummary(file: string): { rows: number; predictionType: Column['type'] } {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as { rows?: unknown; predictionType?: unknown };
    const type = (['string', 'integer', 'number', 'boolean'] as const).find((t) => t === s.predictionType) ?? 'string';
    return { rows: typeof s.rows === 'number' ? s.rows : 0, predictionType: type };
  } catch {
    return { rows: 0, predictionType: 'string' };
  }
}


/** Python of the scoring cell (no pandas needed: the minimal image scores too). */
const SCORING_CELL = String.raw`import csv, json, os
from atrium import datasets

def _value(text, kind):
    if text == "":
        return None
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        return text.strip().lower() in ("true", "1", "yes")
    return text

def _kind(values):
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    return "string"

source = datasets.download(input_dataset, "input.csv")
os.makedirs("outputs", exist_ok=True)
rows = 0
seen = []
with open(source, newline="") as f, open("outputs/predictions.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(list(id_columns) + ["prediction"])
    batch = []
    def _flush():
        global rows
        if not batch:
            return
        predictions = predict([[_value(r[c], column_types.get(c, "string")) for c in feature_columns] for r in batch])
        if hasattr(predictions, "tolist"):
            predictions = predictions.tolist()
        if len(predictions) != len(batch):
            raise ValueError(f"predict() returned {len(predictions)} predictions for {len(batch)} rows")
        for r, p in zip(batch, predictions):
            writer.writerow([r[c] for c in id_columns] + [p])
            if len(seen) < 1000:
                seen.append(p)
        rows += len(batch)
        batch.clear()
    for record in csv.DictReader(f):
        batch.append(record)
        if len(batch) >= batch_size:
            _flush()
    _flush()
summary = {"rows": rows, "predictionType": _kind(seen) if seen else "string"}
with open("outputs/scoring-summary.json", "w") as f:
    json.dump(summary, f)
print(f"Scored {rows} rows of {input_dataset}; predictions are {summary['predictionType']}.")`;
