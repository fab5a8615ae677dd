import type { Kysely, Migration } from 'kysely';

/**
 * Migration `0008_governance_rules`: the rules hold under every order of
 * operations.
 *
 * - Each grant remembers the classification and the masking it was approved
 *   under (`approved_classification`, `approved_masks`), so a data set that
 *   becomes stricter stops the grant (or its PII clearance) until someone
 *   approves again. Existing grants are given the data set's state today.
 * - `dataset_changes`: catalog edits that loosen a restricted data set's
 *   rules (a lower classification, weaker masking) wait here for a platform
 *   admin who is not the person who asked.
 */
export function governanceRulesMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('data_grants').addColumn('approved_classification', 'varchar(16)').execute();
      await db.schema.alterTable('data_grants').addColumn('approved_masks', 'text').execute();
      const datasets = await db.selectFrom('datasets').select(['name', 'classification', 'columns']).execute();
      for (const d of datasets as { name: string; classification: string; columns: string }[]) {
        const masks: Record<string, string> = {};
        for (const c of JSON.parse(d.columns) as { name: string; pii: string | null; mask: string | null }[]) {
          const rule = c.mask ?? (c.pii ? 'hash' : null);
          if (rule) masks[c.name] = rule;
        }
        await db
          .updateTable('data_grants')
          .set({ approved_classification: d.classification, approved_masks: JSON.stringify(masks) })
          .where('dataset', '=', d.name)
          .execute();
      }
      await db.schema
        .createTable('dataset_changes')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('dataset', 'varchar(64)', (c) => c.notNull().references('datasets.name').onDelete('cascade'))
        .addColumn('proposed_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('patch', 'text', (c) => c.notNull())
        .addColumn('changes', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('decided_by', 'varchar(64)')
        .addColumn('decided_at', 'bigint')
        .addColumn('decision_note', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dataset_changes_status').on('dataset_changes').column('status').execute();
    },
  };
}
