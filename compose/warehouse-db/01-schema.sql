-- Warehouse stand-in (PostgreSQL instead of Redshift): the schema the sink writes to.
CREATE SCHEMA IF NOT EXISTS analytics;
