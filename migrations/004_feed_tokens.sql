-- Calendar feed tokens (GET /calendar.ics?token=…): calendar apps cannot send a JWT, so each
-- user has one token of their own, stored only as its SHA-256; rotating replaces it. `owner` is
-- the user ('' for the operator of a service without JWT auth); `admin` feeds show every task.
create table feed_tokens (
  owner text primary key,
  token_sha256 text not null unique,
  admin boolean not null,
  created_at timestamptz not null default now()
);
