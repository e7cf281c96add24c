-- {{version}}_{{name}}: what this migration changes, and why.
--
-- Tables whose rows must survive it (dbguard counts them before and after, and refuses the
-- migration if rows disappear). Uncomment and list them:
-- -- dbguard: preserves = users, orders
--
-- For CREATE INDEX CONCURRENTLY and other statements that cannot run in a transaction:
-- -- dbguard: no-transaction

