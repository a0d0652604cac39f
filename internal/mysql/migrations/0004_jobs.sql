-- Scheduled SQL jobs (issue 13): their definitions, the record of each job
-- task in a run, and a lease per job and company so that a job never
-- overlaps itself. The original tool's tables are not touched.
CREATE TABLE IF NOT EXISTS `ferry_jobs` (
  `name` VARCHAR(64) NOT NULL,
  `status` VARCHAR(16) NOT NULL DEFAULT 'active',
  `kind` VARCHAR(16) NOT NULL,
  `db` VARCHAR(16) NOT NULL,
  `sql_text` TEXT NOT NULL,
  `params` TEXT NULL,
  `run_on` VARCHAR(16) NOT NULL,
  `schedule` VARCHAR(256) NULL,
  `timezone` VARCHAR(64) NULL,
  `position` INT NOT NULL DEFAULT 100,
  `timeout_seconds` INT NOT NULL,
  `idempotent` TINYINT NOT NULL DEFAULT 0,
  `batch_rows` INT NULL,
  `pause_ms` INT NULL,
  `object_key` VARCHAR(512) NULL,
  `next_due_at` DATETIME(6) NULL,
  `created_at` DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updated_at` DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`name`),
  KEY `ferry_jobs_due` (`run_on`, `status`, `next_due_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `ferry_job_runs` (
  `run_id` VARCHAR(80) NOT NULL,
  `job` VARCHAR(64) NOT NULL,
  `company_id` BIGINT NOT NULL DEFAULT 0,
  `run_on` VARCHAR(16) NOT NULL,
  `status` VARCHAR(16) NOT NULL,
  `started_at` DATETIME(6) NOT NULL,
  `finished_at` DATETIME(6) NULL,
  `rows` BIGINT NOT NULL DEFAULT 0,
  `batches` BIGINT NOT NULL DEFAULT 0,
  `invocations` INT NOT NULL DEFAULT 0,
  `seconds` DOUBLE NOT NULL DEFAULT 0,
  `object_key` VARCHAR(1024) NULL,
  `bytes` BIGINT NULL,
  `sha256` CHAR(64) NULL,
  `error` TEXT NULL,
  PRIMARY KEY (`run_id`, `job`, `company_id`),
  KEY `ferry_job_runs_job` (`job`, `company_id`, `started_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `ferry_job_leases` (
  `job` VARCHAR(64) NOT NULL,
  `company_id` BIGINT NOT NULL,
  `holder` VARCHAR(80) NOT NULL,
  `expires_at` DATETIME(6) NOT NULL,
  PRIMARY KEY (`job`, `company_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
