"""profiles with per-field visibility and search, refresh-token families, email verification, login
throttling, trust signals, read models of connections and tally scores

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
S = "profiles"

UPGRADE = [
    # Trigram matching for partial names. In `public` so every schema's search_path sees its operators.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
    f"""ALTER TABLE {S}.accounts
        ADD COLUMN email_verified_at timestamptz,
        ADD COLUMN trust_level text NOT NULL DEFAULT 'new',
        ADD COLUMN karma bigint NOT NULL DEFAULT 0,
        ADD CONSTRAINT ck_accounts_trust_level CHECK (trust_level IN ('new', 'member', 'trusted'))""",
    f"""CREATE TABLE {S}.profiles (
        member_id uuid NOT NULL CONSTRAINT fk_profiles_member_id_accounts REFERENCES {S}.accounts (id) ON DELETE CASCADE,
        handle text NOT NULL,
        display_name text,
        headline text,
        bio text,
        location text,
        company text,
        website text,
        skills text[] NOT NULL DEFAULT '{{}}',
        topics text[] NOT NULL DEFAULT '{{}}',
        visibility jsonb NOT NULL DEFAULT '{{}}',
        updated_at timestamptz NOT NULL DEFAULT now(),
        search_public tsvector,
        search_connections tsvector,
        name_public text,
        name_connections text,
        CONSTRAINT pk_profiles PRIMARY KEY (member_id)
    )""",
    # A field is searchable by a reader only if the reader may see it: one document (and one name string for
    # trigram matching) per audience, rebuilt from the fields and their visibility on every write.
    f"""CREATE FUNCTION {S}.profile_shown(vis jsonb, field text, fallback text, audience text[], value text) RETURNS text
        LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE WHEN coalesce(vis ->> field, fallback) = ANY(audience) THEN coalesce(value, '') ELSE '' END
        $$""",
    f"""CREATE FUNCTION {S}.profile_document(p {S}.profiles, audience text[]) RETURNS tsvector
        LANGUAGE sql IMMUTABLE AS $$
            SELECT setweight(to_tsvector('simple', replace(p.handle, '_', ' ')), 'A')
                || setweight(to_tsvector('simple', {S}.profile_shown(p.visibility, 'display_name', 'public', audience, p.display_name)), 'A')
                || setweight(to_tsvector('simple', {S}.profile_shown(p.visibility, 'headline', 'public', audience, p.headline)), 'B')
                || setweight(to_tsvector('simple', {S}.profile_shown(p.visibility, 'skills', 'public', audience, array_to_string(p.skills, ' '))), 'B')
                || setweight(to_tsvector('simple', {S}.profile_shown(p.visibility, 'topics', 'public', audience, replace(array_to_string(p.topics, ' '), '-', ' '))), 'B')
                || setweight(to_tsvector('simple', {S}.profile_shown(p.visibility, 'company', 'public', audience, p.company)), 'C')
                || setweight(to_tsvector('simple', {S}.profile_shown(p.visibility, 'bio', 'public', audience, p.bio)), 'D')
        $$""",
    f"""CREATE FUNCTION {S}.profiles_search() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_public := {S}.profile_document(NEW, ARRAY['public']);
            NEW.search_connections := {S}.profile_document(NEW, ARRAY['public', 'connections']);
            NEW.name_public := lower(NEW.handle || ' ' || {S}.profile_shown(NEW.visibility, 'display_name', 'public', ARRAY['public'], NEW.display_name));
            NEW.name_connections := lower(NEW.handle || ' ' || {S}.profile_shown(NEW.visibility, 'display_name', 'public', ARRAY['public', 'connections'], NEW.display_name));
            RETURN NEW;
        END $$""",
    f"""CREATE TRIGGER profiles_search BEFORE INSERT OR UPDATE ON {S}.profiles
        FOR EACH ROW EXECUTE FUNCTION {S}.profiles_search()""",
    f"CREATE INDEX ix_profiles_search_public ON {S}.profiles USING gin (search_public)",
    f"CREATE INDEX ix_profiles_name_public ON {S}.profiles USING gin (name_public public.gin_trgm_ops)",
    f"INSERT INTO {S}.profiles (member_id, handle) SELECT id, handle FROM {S}.accounts",
    f"""CREATE TABLE {S}.refresh_tokens (
        id uuid NOT NULL,
        family_id uuid NOT NULL,
        member_id uuid NOT NULL CONSTRAINT fk_refresh_tokens_member_id_accounts REFERENCES {S}.accounts (id) ON DELETE CASCADE,
        token_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT pk_refresh_tokens PRIMARY KEY (id),
        CONSTRAINT uq_refresh_tokens_token_hash UNIQUE (token_hash)
    )""",
    f"CREATE INDEX ix_refresh_tokens_family_id ON {S}.refresh_tokens (family_id)",
    f"CREATE INDEX ix_refresh_tokens_member_id ON {S}.refresh_tokens (member_id)",
    f"""CREATE TABLE {S}.email_verifications (
        token_hash bytea NOT NULL,
        member_id uuid NOT NULL CONSTRAINT fk_email_verifications_member_id_accounts REFERENCES {S}.accounts (id) ON DELETE CASCADE,
        email text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT pk_email_verifications PRIMARY KEY (token_hash)
    )""",
    f"CREATE INDEX ix_email_verifications_member_id ON {S}.email_verifications (member_id)",
    f"""CREATE TABLE {S}.login_failures (
        key text NOT NULL,
        failures integer NOT NULL,
        last_failed_at timestamptz NOT NULL,
        locked_until timestamptz,
        CONSTRAINT pk_login_failures PRIMARY KEY (key)
    )""",
    f"""CREATE TABLE {S}.connections (
        low_id uuid NOT NULL,
        high_id uuid NOT NULL,
        connected boolean NOT NULL,
        changed_at timestamptz NOT NULL,
        CONSTRAINT pk_connections PRIMARY KEY (low_id, high_id),
        CONSTRAINT ck_connections_ordered CHECK (low_id < high_id)
    )""",
    f"CREATE INDEX ix_connections_high_id ON {S}.connections (high_id)",
    f"""CREATE TABLE {S}.target_scores (
        target_id uuid NOT NULL,
        author_id uuid NOT NULL,
        score bigint NOT NULL,
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT pk_target_scores PRIMARY KEY (target_id)
    )""",
    f"CREATE INDEX ix_target_scores_author_id ON {S}.target_scores (author_id)",
]

DOWNGRADE = [
    f"DROP TABLE {S}.target_scores",
    f"DROP TABLE {S}.connections",
    f"DROP TABLE {S}.login_failures",
    f"DROP TABLE {S}.email_verifications",
    f"DROP TABLE {S}.refresh_tokens",
    f"DROP FUNCTION {S}.profile_document({S}.profiles, text[]) CASCADE",
    f"DROP TABLE {S}.profiles",
    f"DROP FUNCTION {S}.profiles_search()",
    f"DROP FUNCTION {S}.profile_shown(jsonb, text, text, text[], text)",
    f"""ALTER TABLE {S}.accounts DROP CONSTRAINT ck_accounts_trust_level,
        DROP COLUMN karma, DROP COLUMN trust_level, DROP COLUMN email_verified_at""",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
