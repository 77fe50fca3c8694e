-- Portable SQL: one file for both dialects (no .sqlite.sql / .postgres.sql variant needed).
create index todos_created_at on todos (created_at);
