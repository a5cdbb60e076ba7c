CREATE TABLE products (name text);
INSERT INTO products VALUES ('kettle'), ('teapot');
-- Loading real seed data takes a while; this stands for it.
SELECT pg_sleep(3);
