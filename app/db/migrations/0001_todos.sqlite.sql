-- The example resource (/api/todos), SQLite's version: an integer primary key is the rowid
-- (auto-assigned), booleans are 0/1, times are ISO 8601 text in UTC.
create table todos (
  id integer primary key,
  title text not null check (length(title) between 1 and 200),
  done integer not null default 0 check (done in (0, 1)),
  created_at text not null,
  updated_at text not null
);
