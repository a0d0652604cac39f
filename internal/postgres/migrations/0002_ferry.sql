-- Ferry's own columns and tables beside the original ones, as on MySQL.
-- Every statement is idempotent, so a migration interrupted halfway runs
-- again. Times are timestamptz (MySQL: DATETIME(6) holding UTC).
ALTER TABLE "tables" ADD COLUMN IF NOT EXISTS chunk_column VARCHAR(64) NULL;
ALTER TABLE "tables" ADD COLUMN IF NOT EXISTS chunk_rows BIGINT NULL;
ALTER TABLE "tables" ADD COLUMN IF NOT EXISTS zero_dates VARCHAR(8) NULL;
ALTER TABLE companies ADD COLUMN IF NOT EXISTS target_schema VARCHAR(64) NULL;

CREATE TABLE IF NOT EXISTS ferry_runs (
  run_id VARCHAR(80) COLLATE "C" NOT NULL,
  run_date DATE NULL,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ NULL,
  status VARCHAR(16) NOT NULL,
  companies INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  "rows" BIGINT NOT NULL DEFAULT 0,
  summary TEXT NULL,
  PRIMARY KEY (run_id)
);
CREATE INDEX IF NOT EXISTS ferry_runs_started ON ferry_runs (started_at);

CREATE TABLE IF NOT EXISTS ferry_table_loads (
  run_id VARCHAR(80) COLLATE "C" NOT NULL,
  company_id BIGINT NOT NULL,
  table_name VARCHAR(64) COLLATE "C" NOT NULL,
  chunks INTEGER NOT NULL DEFAULT 0,
  "rows" BIGINT NOT NULL DEFAULT 0,
  bytes BIGINT NOT NULL DEFAULT 0,
  seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
  status VARCHAR(16) NOT NULL,
  error TEXT NULL,
  swapped_at TIMESTAMPTZ NULL,
  PRIMARY KEY (run_id, company_id, table_name)
);
CREATE INDEX IF NOT EXISTS ferry_table_loads_fresh ON ferry_table_loads (company_id, table_name, swapped_at);

CREATE TABLE IF NOT EXISTS ferry_lease (
  id SMALLINT NOT NULL,
  holder VARCHAR(80) NULL,
  acquired_at TIMESTAMPTZ NULL,
  expires_at TIMESTAMPTZ NULL,
  PRIMARY KEY (id)
);
