"""Valid example SIDs and credentials for tests (none of them real)."""

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "s3cr3t-auth-token-0123456789abcdef"
WORKSPACE_SID = "WS" + "b" * 32
TASK_SID = "WT" + "c" * 32
WORKER_SID = "WK" + "d" * 32
RESERVATION_SID = "WR" + "e" * 32
ACTIVITY_SID = "WA" + "f" * 32
CALL_SID = "CA" + "1" * 32
