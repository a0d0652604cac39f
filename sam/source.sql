-- The source rows the sam/events payloads were captured from (MariaDB: uses
-- the seq_1_to_N tables of its Sequence engine). The events are one run,
-- nightly-2026-11-22, of company 42, in this order:
--
--   sam local invoke ListTablesFunction  -e sam/events/list-tables.json
--   sam local invoke ExportChunkFunction -e sam/events/export-chunk.json   (orders, chunk 3)
--   sam local invoke LoadChunkFunction   -e sam/events/load-chunk.json     (its export's output)
--   ... export and load the manifest's other 8 chunks (ferry invoke, or the state machine)
--   sam local invoke SwapTablesFunction  -e sam/events/swap-tables.json
--   sam local invoke ListTablesFunction  -e sam/events/finish-run.json
--
-- The admin database (sam/env.json's FERRY_ADMIN_DSN) configures it:
--
--   ferry admin migrate
--   ferry table add --name orders --chunk-rows 500 \
--     --query 'SELECT id, customer_id, total, status, created_at FROM orders WHERE company_id = :company_id AND created_at >= :since'
--   ferry table add --name customers --chunk-rows 400 \
--     --query 'SELECT id, name, email, country FROM customers WHERE company_id = :company_id'
--   ferry table add --name products --chunk-rows 200 \
--     --query 'SELECT id, sku, price FROM products WHERE company_id = :company_id AND region = :region'
--   ferry company add --company-id 42 --alias acme --config days=90 --config region=eu
--
-- The run-job events purge company 42's orders older than its last 90 days
-- (ferry job add purge_old_orders --kind batched --db source --batch-rows 100
--   --schedule 'cron(30 2 * * ? *)' --timezone Europe/Paris
--   --sql 'DELETE FROM orders WHERE company_id = :company_id AND created_at < :since'):
--
--   sam local invoke RunJobFunction -e sam/events/run-job-due.json      (claims it, returns the task)
--   sam local invoke RunJobFunction -e sam/events/run-job-run.json      (the batches)
--   sam local invoke RunJobFunction -e sam/events/run-job-finish.json   (records it, releases the lease)
--
-- internal/deploytest's TestSAMEventsInvoke and TestSAMEventsRunJob load this
-- file and invoke every event against it, so the payloads (chunk bounds,
-- SHA-256, the job's task) stay exact.

CREATE TABLE orders (id BIGINT PRIMARY KEY, company_id INT NOT NULL, customer_id INT NOT NULL,
  total DECIMAL(12,2) NOT NULL, status VARCHAR(16) NOT NULL, created_at DATETIME NOT NULL);
INSERT INTO orders SELECT seq, IF(seq % 10 = 0, 7, 42), 1 + seq % 97, seq * 1.37,
  ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'refunded'),
  TIMESTAMP('2026-11-22') - INTERVAL (seq % 120) DAY + INTERVAL (seq * 37 % 86400) SECOND
  FROM seq_1_to_2400;

CREATE TABLE customers (id INT PRIMARY KEY, company_id INT NOT NULL, name VARCHAR(64) NOT NULL,
  email VARCHAR(128) NULL, country CHAR(2) NOT NULL);
INSERT INTO customers SELECT seq, 42, CONCAT('Customer ', seq),
  IF(seq % 7 = 0, NULL, CONCAT('c', seq, '@example.com')), ELT(1 + seq % 3, 'DE', 'FR', 'US')
  FROM seq_1_to_1000;

CREATE TABLE products (id INT PRIMARY KEY, company_id INT NOT NULL, region VARCHAR(8) NOT NULL,
  sku VARCHAR(20) NOT NULL, price DECIMAL(10,2) NOT NULL);
INSERT INTO products SELECT seq, 42, IF(seq % 3 = 0, 'us', 'eu'), CONCAT('SKU-', seq), seq * 0.5
  FROM seq_1_to_450;
