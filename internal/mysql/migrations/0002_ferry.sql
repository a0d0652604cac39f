-- Ferry's own columns beside the original ones. Each ALTER adds one column so
-- that a migration interrupted halfway can be run again: "duplicate column"
-- is treated as already applied.
ALTER TABLE `tables` ADD COLUMN `chunk_column` VARCHAR(64) NULL;
ALTER TABLE `tables` ADD COLUMN `chunk_rows` BIGINT NULL;
ALTER TABLE `tables` ADD COLUMN `zero_dates` VARCHAR(8) NULL;
ALTER TABLE `companies` ADD COLUMN `target_schema` VARCHAR(64) NULL;

CREATE TABLE IF NOT EXISTS `ferry_runs` (
  `run_id` VARCHAR(80) NOT NULL,
  `run_date` DATE NULL,
  `started_at` DATETIME(6) NOT NULL,
  `finished_at` DATETIME(6) NULL,
  `status` VARCHAR(16) NOT NULL,
  `companies` INT NOT NULL DEFAULT 0,
  `failed` INT NOT NULL DEFAULT 0,
  `rows` BIGINT NOT NULL DEFAULT 0,
  `summary` TEXT NULL,
  PRIMARY KEY (`run_id`),
  KEY `ferry_runs_started` (`started_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `ferry_table_loads` (
  `run_id` VARCHAR(80) NOT NULL,
  `company_id` BIGINT NOT NULL,
  `table_name` VARCHAR(64) NOT NULL,
  `chunks` INT NOT NULL DEFAULT 0,
  `rows` BIGINT NOT NULL DEFAULT 0,
  `bytes` BIGINT NOT NULL DEFAULT 0,
  `seconds` DOUBLE NOT NULL DEFAULT 0,
  `status` VARCHAR(16) NOT NULL,
  `error` TEXT NULL,
  `swapped_at` DATETIME(6) NULL,
  PRIMARY KEY (`run_id`, `company_id`, `table_name`),
  KEY `ferry_table_loads_fresh` (`company_id`, `table_name`, `swapped_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `ferry_lease` (
  `id` TINYINT NOT NULL,
  `holder` VARCHAR(80) NULL,
  `acquired_at` DATETIME(6) NULL,
  `expires_at` DATETIME(6) NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
