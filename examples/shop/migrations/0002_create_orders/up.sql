-- dbguard: preserves = customers
CREATE TABLE orders (
    id BIGINT NOT NULL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0)
);
INSERT INTO orders (id, customer_id, total_cents) VALUES (1, 1, 4200), (2, 2, 1999);
