-- The PostgreSQL source the *-postgres sam/events payloads were captured
-- from: sam/source.sql's rows, the same for company 42, on PostgreSQL. The
-- events are one run, nightly-pg-2026-11-22, of company 42 with PostgreSQL
-- admin, source and target databases:
--
--   sam local invoke ListTablesFunction  -e sam/events/list-tables-postgres.json
--   sam local invoke ExportChunkFunction -e sam/events/export-chunk-postgres.json   (orders, chunk 1)
--   sam local invoke LoadChunkFunction   -e sam/events/load-chunk-postgres.json     (its export's output)
--
-- with sam/env.json's FERRY_ADMIN_DSN and FERRY_SOURCE_DSN set to
-- postgres:// URLs (on AWS: the source secret's "engine": "postgres", or the
-- SourceEngine parameter for a secret RDS manages). The admin database is
-- configured as sam/source.sql says (ferry admin migrate, ferry table add,
-- ferry company add): the same queries run on both engines.
--
-- internal/deploytest's TestSAMEventsInvokePostgres loads this file and
-- invokes the events against it, so the payloads stay exact.

CREATE TABLE orders (id bigint PRIMARY KEY, company_id int NOT NULL, customer_id int NOT NULL,
  total numeric(12,2) NOT NULL, status varchar(16) NOT NULL, created_at timestamp NOT NULL);
INSERT INTO orders SELECT g, CASE WHEN g % 10 = 0 THEN 7 ELSE 42 END, 1 + g % 97, g * 1.37,
  (ARRAY['new', 'paid', 'shipped', 'refunded'])[1 + g % 4],
  timestamp '2026-11-22' - (g % 120) * interval '1 day' + (g * 37 % 86400) * interval '1 second'
  FROM generate_series(1, 2400) g;

CREATE TABLE customers (id int PRIMARY KEY, company_id int NOT NULL, name varchar(64) NOT NULL,
  email varchar(128) NULL, country char(2) NOT NULL);
INSERT INTO customers SELECT g, 42, 'Customer ' || g,
  CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g || '@example.com' END, (ARRAY['DE', 'FR', 'US'])[1 + g % 3]
  FROM generate_series(1, 1000) g;

CREATE TABLE products (id int PRIMARY KEY, company_id int NOT NULL, region varchar(8) NOT NULL,
  sku varchar(20) NOT NULL, price numeric(10,2) NOT NULL);
INSERT INTO products SELECT g, 42, CASE WHEN g % 3 = 0 THEN 'us' ELSE 'eu' END, 'SKU-' || g, g * 0.5
  FROM generate_series(1, 450) g;
