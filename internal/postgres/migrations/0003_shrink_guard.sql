-- An optional guard per table: refuse to publish a table that shrank by more
-- than this percentage against the live table (replica lag, a wrong "days"
-- configuration). NULL: no guard.
ALTER TABLE "tables" ADD COLUMN IF NOT EXISTS max_shrink_pct INTEGER NULL;
