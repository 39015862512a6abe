-- Sharing one remote poller between instances needs PostgreSQL's advisory
-- locks and LISTEN/NOTIFY: on SQLite every instance polls the remote itself.
SELECT 1;
