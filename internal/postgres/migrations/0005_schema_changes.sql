-- What a run does when a table's query returns columns that differ from the
-- live table (a column added, dropped, widened or retyped): 'evolve' (NULL,
-- the default) publishes the new shape with the swap; 'refuse' fails the
-- company naming each difference and leaves the live table as it is.
ALTER TABLE "tables" ADD COLUMN IF NOT EXISTS schema_changes VARCHAR(16) NULL;
