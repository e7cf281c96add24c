CREATE INDEX orders_customer_total ON orders (customer_id, total_cents);
