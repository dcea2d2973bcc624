-- Feed tokens expire (a calendar subscription outlives its reason to exist more often than not):
-- a token opens its feed until expires_at. Tokens issued before this migration get a year.
alter table feed_tokens add column expires_at timestamptz;
update feed_tokens set expires_at = created_at + interval '365 days';
alter table feed_tokens alter column expires_at set not null;
