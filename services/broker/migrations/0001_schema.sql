-- broker 0001: the service's database role and schema, and nothing else yet.
--
-- Each service owns one schema and one role (ARCHITECTURE.md, principle 4). The schema
-- belongs to the admin who migrates, not to trivsel_broker: the daemon reads and writes
-- rows but can never change the schema, and no other service's role can reach into it
-- (principle 5).

-- Roles belong to the whole cluster, not this database: another database of the same cluster
-- may have created trivsel_broker already, or be creating it at this moment, so "it exists" in
-- either form counts as done. No password here: trivselctl sets it from the deployment's secret.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'trivsel_broker') THEN
        CREATE ROLE trivsel_broker LOGIN NOINHERIT NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;
END
$$;

CREATE SCHEMA broker AUTHORIZATION CURRENT_USER;
REVOKE ALL ON SCHEMA broker FROM PUBLIC;
GRANT USAGE ON SCHEMA broker TO trivsel_broker;

-- Tables and sequences that later migrations create here (as this same admin) are the
-- daemon's to use, without a GRANT in every migration.
ALTER DEFAULT PRIVILEGES IN SCHEMA broker
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO trivsel_broker;
ALTER DEFAULT PRIVILEGES IN SCHEMA broker
    GRANT USAGE, SELECT ON SEQUENCES TO trivsel_broker;

-- PostgreSQL 15 no longer lets every role create objects in schema public, but a database
-- upgraded from an older version still does; every service's first migration makes sure.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
