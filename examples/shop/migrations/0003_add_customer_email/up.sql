-- dbguard: preserves = customers, orders
ALTER TABLE customers ADD COLUMN email VARCHAR(320);
UPDATE customers SET email = 'ada@example.com' WHERE id = 1;
