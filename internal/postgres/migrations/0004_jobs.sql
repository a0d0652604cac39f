-- Scheduled SQL jobs (issue 13), on PostgreSQL: the same tables and columns
-- as on MySQL. The original tool's tables are not touched.
CREATE TABLE IF NOT EXISTS ferry_jobs (
  name VARCHAR(64) COLLATE "C" NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'active',
  kind VARCHAR(16) NOT NULL,
  db VARCHAR(16) NOT NULL,
  sql_text TEXT NOT NULL,
  params TEXT NULL,
  run_on VARCHAR(16) NOT NULL,
  schedule VARCHAR(256) NULL,
  timezone VARCHAR(64) NULL,
  position INTEGER NOT NULL DEFAULT 100,
  timeout_seconds INTEGER NOT NULL,
  idempotent SMALLINT NOT NULL DEFAULT 0,
  batch_rows INTEGER NULL,
  pause_ms INTEGER NULL,
  object_key VARCHAR(512) NULL,
  next_due_at TIMESTAMPTZ NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (name)
);
CREATE INDEX IF NOT EXISTS ferry_jobs_due ON ferry_jobs (run_on, status, next_due_at);

CREATE TABLE IF NOT EXISTS ferry_job_runs (
  run_id VARCHAR(80) COLLATE "C" NOT NULL,
  job VARCHAR(64) COLLATE "C" NOT NULL,
  company_id BIGINT NOT NULL DEFAULT 0,
  run_on VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ NULL,
  "rows" BIGINT NOT NULL DEFAULT 0,
  batches BIGINT NOT NULL DEFAULT 0,
  invocations INTEGER NOT NULL DEFAULT 0,
  seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
  object_key VARCHAR(1024) NULL,
  bytes BIGINT NULL,
  sha256 CHAR(64) NULL,
  error TEXT NULL,
  PRIMARY KEY (run_id, job, company_id)
);
CREATE INDEX IF NOT EXISTS ferry_job_runs_job ON ferry_job_runs (job, company_id, started_at);

CREATE TABLE IF NOT EXISTS ferry_job_leases (
  job VARCHAR(64) COLLATE "C" NOT NULL,
  company_id BIGINT NOT NULL,
  holder VARCHAR(80) NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (job, company_id)
);
