-- The original tool's tables. CREATE TABLE IF NOT EXISTS leaves an existing
-- admin database (and its rows) exactly as it is.
CREATE TABLE IF NOT EXISTS `companies` (
  `company_id` BIGINT NOT NULL,
  `status` VARCHAR(16) NOT NULL DEFAULT 'active',
  `alias` VARCHAR(40) NOT NULL,
  PRIMARY KEY (`company_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `tables` (
  `name` VARCHAR(64) NOT NULL,
  `status` VARCHAR(16) NOT NULL DEFAULT 'active',
  `query_select` TEXT NOT NULL,
  `params_select` TEXT NULL,
  `query_insert` TEXT NULL,
  `params_insert` TEXT NULL,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `configurations` (
  `name` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `companies_configurations` (
  `company` BIGINT NOT NULL,
  `configuration` VARCHAR(64) NOT NULL,
  `value` TEXT NULL,
  PRIMARY KEY (`company`, `configuration`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
