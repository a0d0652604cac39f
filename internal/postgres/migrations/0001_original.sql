-- The original tool's tables, on PostgreSQL: the same names and columns as
-- the MySQL admin database. CREATE TABLE IF NOT EXISTS leaves an existing
-- admin database (and its rows) exactly as it is. Names compare and sort
-- byte by byte (COLLATE "C"), as MySQL's utf8mb4_bin does.
CREATE TABLE IF NOT EXISTS companies (
  company_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'active',
  alias VARCHAR(40) COLLATE "C" NOT NULL,
  PRIMARY KEY (company_id)
);

CREATE TABLE IF NOT EXISTS "tables" (
  name VARCHAR(64) COLLATE "C" NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'active',
  query_select TEXT NOT NULL,
  params_select TEXT NULL,
  query_insert TEXT NULL,
  params_insert TEXT NULL,
  PRIMARY KEY (name)
);

CREATE TABLE IF NOT EXISTS configurations (
  name VARCHAR(64) COLLATE "C" NOT NULL,
  PRIMARY KEY (name)
);

CREATE TABLE IF NOT EXISTS companies_configurations (
  company BIGINT NOT NULL,
  configuration VARCHAR(64) COLLATE "C" NOT NULL,
  value TEXT NULL,
  PRIMARY KEY (company, configuration)
);
