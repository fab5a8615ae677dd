import type { Kysely } from 'kysely';
import type { FeatureMigrations } from '../core/db/migrations.js';

export const kbMigrations: FeatureMigrations = {
  '0002_kb': () => ({
    // Knowledge-base articles written by teams through the API; articles in
    // the repository (kb/articles) are not stored here.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('kb_articles')
        .addColumn('id', 'varchar(80)', (c) => c.primaryKey())
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('title', 'varchar(200)', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('level', 'varchar(16)', (c) => c.notNull())
        .addColumn('markdown', 'text', (c) => c.notNull())
        .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('updated_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();
      await db.schema.createIndex('kb_articles_team').on('kb_articles').column('team').execute();
    },
  }),
};
