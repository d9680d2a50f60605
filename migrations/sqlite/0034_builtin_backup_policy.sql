-- A built-in backup policy (`builtin = 'self'`): yunwei's own scheduled backup reports its
-- runs into it, so a failing or missed self-backup alerts like any other. Its system_id
-- is 0: the platform is not one of the contract's systems.
-- Keep in step with migrations/postgres/0034_builtin_backup_policy.sql.
ALTER TABLE backup_policies ADD COLUMN builtin TEXT;
CREATE UNIQUE INDEX backup_policies_builtin ON backup_policies(builtin) WHERE builtin IS NOT NULL;
