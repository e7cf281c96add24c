-- Customers of the example shop.
CREATE TABLE customers (
    id BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    created_at VARCHAR(40) NOT NULL
);
INSERT INTO customers (id, name, created_at) VALUES
    (1, 'Ada Lovelace', '2026-01-05T09:00:00Z'),
    (2, 'Grace Hopper', '2026-02-11T14:30:00Z');
