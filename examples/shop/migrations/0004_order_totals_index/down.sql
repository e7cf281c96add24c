DROP INDEX orders_customer_total;
